#
# The seed's poll_example, imports changed to cpppo_rs.  Polls a PowerFlex 750 series at
# HOST:PORT for SECONDS, printing each value and failure (one line each).
#
#     python poll_example.py HOST PORT SECONDS
#
import logging
import sys
import time
import threading

from cpppo_rs.enip import poll
#from cpppo_rs.enip.get_attribute import proxy_simple as device # MicroLogix
#from cpppo_rs.enip.get_attribute import proxy as device # ControlLogix
from cpppo_rs.enip.ab import powerflex_750_series as device # PowerFlex 750

hostname = sys.argv[1] if len( sys.argv ) > 1 else 'localhost'
port = int( sys.argv[2] ) if len( sys.argv ) > 2 else 44818
seconds = float( sys.argv[3] ) if len( sys.argv ) > 3 else 10.0

params = [ "Motor Velocity", "Output Current" ]

def failure( exc ):
    failure.string.append( str(exc) )
failure.string = [] # [ <exc>, ... ]

def process( par, val ):
    process.values[par] = val
process.done = False
process.values = {} # { <parameter>: <value>, ... }

poller = threading.Thread(
    target=poll.poll, kwargs={
        'proxy_class': device,
        'address':      (hostname, port),
        'cycle':        0.2,
        'timeout':      0.5,
        'process':      process,
        'failure':      failure,
        'params':      params,
        'backoff_max':  0.5,
    })
poller.start()

# Monitor the process.values {} and failure.string [] (updated in another Thread)
ends = time.time() + seconds
try:
    while time.time() < ends:
        while process.values:
            par,val = process.values.popitem()
            print( "%s: %16s == %r" % ( time.ctime(), par, val ), flush=True )
        while failure.string:
            exc = failure.string.pop( 0 )
            print( "%s: %s" %( time.ctime(), exc ), flush=True )
        time.sleep( .1 )
finally:
    process.done = True
    poller.join()
