"""Running fits and comparisons away from the page (docs/ARCHITECTURE.md, "jobs").

One module per responsibility, lowest first (none imports a later one):

* :mod:`~core.jobs.folders` — a local job's folder: file names, 0700/0600 creation, removal.
* :mod:`~core.jobs.status` — :class:`~core.jobs.status.JobStatus` and its ``status.json``.
* :mod:`~core.jobs.specs` — a job's inputs (training request, comparison spec) as data.
* :mod:`~core.jobs.execution` — running one job on a given device, reporting progress.
* :mod:`~core.jobs.worker` — the local worker process (``python -m core.jobs.worker``).
* :mod:`~core.jobs.local` — the local runner: worker processes, standby, cleanup, sweep.
* :mod:`~core.jobs.ray_connect` — connecting to a Ray cluster without hanging.
* :mod:`~core.jobs.ray_task` — what runs on the cluster: the task, board, memory registry.
* :mod:`~core.jobs.ray_backend` — the Ray runner on the app's side.
* :mod:`~core.jobs.backend` — the runner interface and the choice between the two.
"""
