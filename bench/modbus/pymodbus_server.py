"""pymodbus 3.16 Modbus/TCP server for the benchmark: holding registers 40001-40200 = 7."""
import asyncio
import logging
import sys

from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import StartAsyncTcpServer

logging.disable(logging.WARNING)
port = int(sys.argv[1])  # 0: any; the benchmark reads the bound port from the kernel
device = ModbusDeviceContext(hr=ModbusSequentialDataBlock(1, [7] * 200))
context = ModbusServerContext(devices=device, single=True)
asyncio.run(StartAsyncTcpServer(context=context, address=("127.0.0.1", port)))
