"""The realistic, seeded Beijing demo: generated 12345 tickets and the procuratorate's funnel.

Why: real ticket data is confidential, so the product ships a generator whose Beijing looks and behaves like
the real one (see docs/demo.md). It writes standard export files and loads them through the one import
pipeline (`data.ingest.ingest_files`). Entry points: `build.generate()` (files only, `manage.py synth`) and
`build.build_database()` (files + import, `manage.py demo`).
"""
