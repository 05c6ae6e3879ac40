from app.core.audit import declare_action

JOB_RETRIED = declare_action("job.retried", "A dead or cancelled job made ready again")
JOB_CANCELLED = declare_action("job.cancelled", "A ready or running job cancelled")
