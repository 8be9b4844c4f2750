"""Bytes-lost accounting of the log capture scenario, on hand-made log files."""

import tempfile
import unittest
from pathlib import Path

from harness.scenarios.capture import LogSet, global_start
from harness.scripts.producer import CHUNK, LINE, header


def stream(chunks):
    filler = (b"x" * (LINE - 1) + b"\n") * (CHUNK // LINE - 1)
    return b"".join(header(i) + filler for i in range(chunks))


class CaptureAccountingTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.log = Path(self.dir.name) / "out.log"

    def tearDown(self):
        self.dir.cleanup()

    def test_whole_stream_in_one_file_is_held_entirely(self):
        self.log.write_bytes(stream(3))
        self.assertEqual(LogSet(self.log, 0).held(), 3 * CHUNK)

    def test_rotated_files_starting_mid_chunk_account_for_discarded_bytes(self):
        data = stream(5)
        # Rotation at arbitrary offsets; the first 1.5 chunks were discarded by rotation.
        cut1, cut2 = CHUNK + CHUNK // 2 + 7, 3 * CHUNK + 123
        Path(f"{self.log}.2").write_bytes(data[cut1:cut2])
        Path(f"{self.log}.1").write_bytes(data[cut2:cut2 + 10])
        self.log.write_bytes(data[cut2 + 10:])
        self.assertEqual(global_start(Path(f"{self.log}.2")), cut1)
        self.assertEqual(LogSet(self.log, 10).held(), len(data))

    def test_bytes_missing_in_the_middle_show_as_lost(self):
        data = stream(4)
        self.log.write_bytes(data[: 2 * CHUNK] + data[2 * CHUNK + 4096:])
        self.assertEqual(len(data) - LogSet(self.log, 0).held(), 4096)

    def test_file_without_complete_header_is_not_yet_known(self):
        self.log.write_bytes(header(0)[:10])
        self.assertIsNone(LogSet(self.log, 0).held())


if __name__ == "__main__":
    unittest.main()
