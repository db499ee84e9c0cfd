"""A pymodbus 3.16 Modbus/TCP server for the tests (interop/conftest.py's pymodbus_server):
holding registers 40001.. = 1000, 1001, ...; coils alternate. It binds the port given
(argv[1]; default 0: any) and prints the port it got."""
import asyncio
import logging
import sys

from pymodbus.datastore import (ModbusDeviceContext, ModbusSequentialDataBlock,
                                ModbusServerContext)
from pymodbus.server import ModbusTcpServer

logging.disable(logging.WARNING)
device = ModbusDeviceContext(
    hr=ModbusSequentialDataBlock(1, list(range(1000, 1200))),
    co=ModbusSequentialDataBlock(1, [1, 0] * 50))
context = ModbusServerContext(devices=device, single=True)


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ModbusTcpServer(context, address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    print("pymodbus listening on port", server.transport.sockets[0].getsockname()[1], flush=True)
    await server.serving


asyncio.run(main())
