"""Import of 12345 exports and the procuratorate's own records (receive → clean → verify → store).

See docs/import.md for formats, headers, mapping files, quarantine reasons and flags.
"""

from data.ingest.pipeline import ImportReport, IngestError, ingest_files, preview

__all__ = ["ImportReport", "IngestError", "ingest_files", "preview"]
