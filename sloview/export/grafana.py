"""placeholder"""

from typing import Any


def to_grafana(slos: Any, source: Any) -> Any:
    raise NotImplementedError
