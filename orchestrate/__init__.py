"""Orchestration helpers: Meltano Hub definitions; Airflow DAGs in ``airflow/dags``."""
