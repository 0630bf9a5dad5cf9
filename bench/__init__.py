"""The Beijing-scale benchmark (`python manage.py bench`): DuckDB pages against a pandas dashboard."""
