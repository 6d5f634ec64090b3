amp.report_outcome(
    request_id=context.request_id,
    started=True,
    completed=True,
    time_to_start=15,
    flow_state=True,
    satisfaction=0.95,
)
