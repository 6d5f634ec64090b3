const context = await amp.getContext({
  userId: 'user_123',
  task: 'build a login page',
  complexity: 'medium',
  taskType: 'coding',
  metadata: {
    source: 'chat',
    timestamp: Date.now(),
  },
});

console.log(context.suggestedFraming);   // "micro_task"
console.log(context.communicationStyle); // "brief_directive"
console.log(context.complexity);         // "break_into_steps"
console.log(context.confidence);         // 0.87
