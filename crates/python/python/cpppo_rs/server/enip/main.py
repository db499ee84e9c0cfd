"""``main``: run a simulated EtherNet/IP controller from a command line, as cpppo's
``cpppo.server.enip.main.main`` (so scripts such as cpppo's weather example run with only
their imports changed)."""
import argparse
import signal
import sys
import threading

from ...enip import Simulator
from ...errors import Error
from . import device

__all__ = ["main"]


def _address(text, default_port):
    """cpppo's ``[INTERFACE][:PORT]``: all interfaces and ``default_port`` unless given."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    return f"{host or '0.0.0.0'}:{port or default_port}"


def _delay(text):
    lo, _, hi = text.partition("-")
    lo = float(lo)
    return (lo, float(hi) if hi else lo)


def _parser():
    ap = argparse.ArgumentParser(description="Provide an EtherNet/IP Server (cpppo-rs)")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    ap.add_argument("-c", "--config", action="append", default=[],
                    help="a cpppo.cfg file to read (may repeat; none by default)")
    ap.add_argument("--no-config", action="store_true", help="read no config file (default)")
    ap.add_argument("-a", "--address", default="0.0.0.0:44818",
                    help="[INTERFACE][:PORT] to bind (port 0: any free port)")
    ap.add_argument("-A", "--address-output", action="store_true",
                    help="also print '... running on (HOST, PORT)'")
    ap.add_argument("-u", "--udp", action="store_true", default=True, help="serve UDP too")
    ap.add_argument("-U", "--no-udp", dest="udp", action="store_false", help="TCP only")
    ap.add_argument("-w", "--web", default="", help="web API [INTERFACE][:PORT]")
    ap.add_argument("-d", "--delay", default="0", help="reply delay: SECS or LO-HI")
    ap.add_argument("--route-path", default=None, help="route path (JSON), or 0/false")
    ap.add_argument("-S", "--simple", action="store_true", help="a simple (non-routing) device")
    ap.add_argument("tags", nargs="*", help="tags: NAME=TYPE[LEN] (eg. SCADA=INT[1000])")
    return ap


def main(argv=None, attribute_class=device.Attribute, attribute_kwds=None, idle_service=None,
         **kwds):
    """Parse ``argv`` (default ``sys.argv[1:]``), serve the tags until SIGINT/SIGTERM, and
    return the exit status (0). Each tag's values live in an ``attribute_class`` object when it
    is a subclass of ``device.Attribute`` (else in the Rust core). Prints
    ``Success; Started EtherNet/IP Simulator; PID = ...; address = HOST:PORT`` once serving.
    ``attribute_kwds``, ``idle_service`` and other keywords of cpppo's ``main`` are accepted and
    ignored."""
    args = _parser().parse_args(argv)
    delay = _delay(args.delay)
    try:
        sim = Simulator(
            tags=args.tags, address=_address(args.address, 44818), udp=args.udp,
            delay=delay if delay[1] > 0 else None, config=args.config,
            route_path=args.route_path, simple=args.simple,
            web=(_address(args.web, 80) if args.web else None),
            attribute_class=attribute_class)
    except Error as e:
        print(f"enip server: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set())
                for s in (signal.SIGINT, signal.SIGTERM)}
    with sim:
        host, port = sim.address
        print(f"Success; Started EtherNet/IP Simulator; PID = {__import__('os').getpid()}; "
              f"address = {host}:{port}", flush=True)
        if sim.web_address:
            print("Web API and live page on http://%s:%d/" % sim.web_address, flush=True)
        if args.address_output:
            print(f"EtherNet/IP Simulator running on ('{host}', {port})", flush=True)
        while not stop.wait(0.5):
            pass
    for s, handler in previous.items():
        signal.signal(s, handler)
    return 0
