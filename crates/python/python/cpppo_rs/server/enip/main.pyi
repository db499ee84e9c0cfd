"""``main``: run a simulated EtherNet/IP controller from a command line, as cpppo's."""
from typing import Any, Callable, Dict, List, Optional, Sequence, Type

from .device import Attribute

__all__: List[str]

def main(argv: Optional[Sequence[str]] = ..., attribute_class: Type[Attribute] = ...,
         attribute_kwds: Optional[Dict[str, Any]] = ...,
         idle_service: Optional[Callable[[], Any]] = ..., **kwds: Any) -> int:
    """Parse ``argv``, serve the tags until SIGINT/SIGTERM, and return the exit status."""
