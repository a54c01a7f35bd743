"""Running a job from the parent process: the toolchain, the one build module, run folders and
``run_sim``."""
