"""Peer EtherNet/IP clients in a bounded loop against one simulator: reads/s and client CPU µs
per read. Usage: peers.py HOST:PORT TOOL COUNT SECS   (TOOL: cpppo | pycomm3 | pylogix)

Each loop stops after COUNT reads or SECS seconds, whichever comes first, and prints one
markdown table row: | tool | mode | reads | seconds | reads/s | client CPU µs/read |
"""
import sys
import time


def cpppo_loop(host, port, deadline, count, depth):
    from cpppo.server.enip import client
    ops = list(client.parse_operations(["SCADA[1]"] * count))
    done = 0
    with client.connector(host=host, port=port, timeout=5) as conn:
        for _, _, _, _, _, val in conn.pipeline(operations=ops, depth=depth, timeout=5):
            assert val is not None
            done += 1
            if time.monotonic() > deadline:
                break
    return done


def pycomm3_loop(host, port, deadline, count):
    from pycomm3 import LogixDriver
    done = 0
    with LogixDriver(f"{host}:{port}", init_program_tags=False) as plc:
        while done < count and time.monotonic() < deadline:
            assert plc.read("SCADA[1]").error is None
            done += 1
    return done


def pylogix_loop(host, port, deadline, count):
    from pylogix import PLC
    done = 0
    with PLC() as comm:
        comm.IPAddress = host
        comm.Port = port
        while done < count and time.monotonic() < deadline:
            assert comm.Read("SCADA[1]").Status == "Success"
            done += 1
    return done


def main():
    addr, tool, count, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    host, port = addr.rsplit(":", 1)
    port = int(port)
    modes = {"cpppo": [("lock-step", 1), ("depth 20", 20)], "pycomm3": [("lock-step", 1)],
             "pylogix": [("lock-step", 1)]}[tool]
    for mode, depth in modes:
        cpu, t0 = time.process_time(), time.monotonic()
        deadline = t0 + secs
        if tool == "cpppo":
            n = cpppo_loop(host, port, deadline, count, depth)
        elif tool == "pycomm3":
            n = pycomm3_loop(host, port, deadline, count)
        else:
            n = pylogix_loop(host, port, deadline, count)
        dt, cpu = time.monotonic() - t0, time.process_time() - cpu
        print(f"| {tool} | {mode} | {n} | {dt:.2f} | {n / dt:,.0f} | {cpu * 1e6 / max(n, 1):.1f} |")


if __name__ == "__main__":
    main()
