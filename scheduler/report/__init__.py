"""`unbrand report`: a static HTML gallery, a morning summary and a metrics CSV of one batch.

Reads only the job database and, for thumbnails, the storage layer; see builder.write_report.
"""
