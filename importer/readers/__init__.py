"""The reader's parts; use ``importer.reader`` (open_sheet, read_rows, Sheet).

- ``messages``: every sentence the reader shows a user (``Msg``), in one place.
- ``detect``: what a file really is (by name and content), and its delimiter.
- ``encoding``: a text file's encoding, checked against every byte.
- ``plausible``: which legacy encoding reads a file's words as real text.
- ``header``: which row holds the column names (titles above it, no header at all).
- ``limits``: the bounds that refuse hostile files (sizes, ratios, lines, cells).
- ``cells``: spreadsheet cell values to the text a person sees in Excel.
- ``table``: format-independent header finding, header checks and Row building.
- ``text``: CSV/TSV/TXT (plain or gzip) as a stream of records.
- ``workbook``: XLSX (openpyxl, streaming), XLS (xlrd) and ODS (python-calamine).
"""
