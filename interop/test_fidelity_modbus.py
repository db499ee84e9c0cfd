"""Issue 17 item 2: `cpppo modbus poll` logs failures and recovery as cpppo's poller does
(`Failing: PLC <addr> <first>-<last> (<count>): <why>`, `Polling: PLC <addr> offline|online`):
a refused connection, an exception reply (an unmapped register), the PLC going away and back."""
import socket


from conftest import cpppo_bin

SIM_READY = r"Success; Started Modbus/TCP Simulator; PID = \d+; address = (\S+)"


def start_sim(spawn, address, *ranges):
    sim = spawn([cpppo_bin(), "modbus", "sim", "-a", address, *ranges])
    return sim, sim.wait_output(SIM_READY).group(1)


def poll(spawn, address, *registers):
    return spawn([cpppo_bin(), "modbus", "poll", "-a", address, "-R", "0.1", "-t", "0.5",
                  *registers])


def test_refused_connection_is_logged_with_the_registers(spawn):
    s = socket.socket()  # bound, not listening: connections are refused
    s.bind(("127.0.0.1", 0))
    try:
        port = s.getsockname()[1]
        p = poll(spawn, f"127.0.0.1:{port}", "40001-40010")
        p.wait_output(rf"Failing: PLC 127\.0\.0\.1:{port}  40001-40010  \(   10\): .*[Rr]efused")
    finally:
        s.close()


def test_exception_reply_names_the_range_and_code(spawn):
    _, address = start_sim(spawn, "127.0.0.1:0", "40001-40010=7")
    p = poll(spawn, address, "40001-40002", "40101")
    p.wait_output(r"40001 ==     7 \(was: None\)")
    p.wait_output(rf"Failing: PLC {address}  40101-40101  \(    1\): exception 0x02")
    p.wait_output(rf"Polling: PLC {address} online; success polling 40001: \[7, 7\]")


def test_offline_and_recovery_are_logged(spawn):
    sim, address = start_sim(spawn, "127.0.0.1:0", "40001-40010=5")
    p = poll(spawn, address, "40002")
    p.wait_output(rf"Polling: PLC {address} online; success polling 40002: \[5\]")
    sim.close()
    p.wait_output(rf"Polling: PLC {address} offline")
    p.wait_output(rf"Failing: PLC {address}  40002-40002  \(    1\): ")
    # Back on the port it had (the poller knows only that address).
    start_sim(spawn, address, "40001-40010=6")
    p.wait_output(rf"Polling: PLC {address} online; success polling 40002: \[6\]", timeout=20)
    p.wait_output(r"40002 ==     6 \(was: None\)")
