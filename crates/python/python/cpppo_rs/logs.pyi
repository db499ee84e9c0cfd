"""cpppo's logging conventions: ``log_cfg``, the NORMAL/DETAIL/TRACE levels, ``timer``."""
from typing import Any, Callable, Dict, List

__all__: List[str]

log_cfg: Dict[str, Any]
timer: Callable[[], float]
