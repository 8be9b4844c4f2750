"""Following supervisord's main log without disturbing the daemon."""

RUNNING_LINE = b"entered RUNNING state"


class LogCounter:
    """Counts lines holding `needle` appended to a log, reading only what is new."""

    def __init__(self, path, needle=RUNNING_LINE):
        self.path = path
        self.needle = needle
        self.file = None
        self.partial = b""
        self.total = 0

    def count(self):
        if self.file is None:
            try:
                self.file = open(self.path, "rb")
            except FileNotFoundError:
                return 0
        data = self.partial + self.file.read()
        complete, _, self.partial = data.rpartition(b"\n")
        self.total += complete.count(self.needle)
        return self.total

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None
