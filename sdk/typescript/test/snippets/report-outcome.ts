await amp.reportOutcome({
  requestId: context.requestId,
  started: true,
  completed: true,
  timeToStart: 15,
  flowState: true,
  satisfaction: 0.95,
});
