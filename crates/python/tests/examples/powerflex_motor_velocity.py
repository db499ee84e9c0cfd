#
# The seed's powerflex_motor_velocity example, imports changed to cpppo_rs.
# Write a Motor Velocity to an AB PowerFlex AC Drive Controller
#
#     python powerflex_motor_velocity.py @localhost:PORT 123.45
#
import logging
import sys
import time
import traceback

#from cpppo_rs.enip.get_attribute import proxy_simple as device # MicroLogix
#from cpppo_rs.enip.get_attribute import proxy as device       # ControlLogix
from cpppo_rs.enip.ab import powerflex_750_series as device    # PowerFlex 750

# Optionally specify Powerflex DNS name or IP address, prefixed with '@':
host = 'localhost'
port = 44818
if len( sys.argv ) > 1 and sys.argv[1].startswith( '@' ):
    host = sys.argv.pop( 1 )[1:]
    host,port = host.rsplit( ':', 1 ) if ':' in host else (host,port)

# Optionally specify velocity; defaults to 0:
velocity          = 0
if len( sys.argv ) > 1:
    velocity       = float( sys.argv.pop( 1 ))

param             = 'Motor Velocity = (REAL)%s' % ( velocity )
try:
    via            = device( host=host, port=int( port ))
    with via: # establish gateway, detects Exception (closing gateway)
        val,      = via.write(
            via.parameter_substitution( param ), checking=True )
        print( "%s: %-32s == %s" % ( time.ctime(), param, val ))
except Exception as exc:
    logging.warning( "Exception writing Parameter %s: %s, %s",
        param, exc, traceback.format_exc() )
    sys.exit( 1 )
