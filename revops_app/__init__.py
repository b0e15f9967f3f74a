"""The application layer: the `revops` command line (`cli`) and the in-process build runner
(`pipeline`), on top of the core (`revops`), the orchestration (`orchestration`), the
dashboard and the demo generator. Nothing imports this package."""
