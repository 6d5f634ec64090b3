context = amp.get_context(
    user_id="user_123",
    task="build a login page",
    complexity="medium",
    task_type="coding",
    metadata={
        "source": "chat",
        "priority": "urgent",
    },
)

print(context.suggested_framing)    # "micro_task"
print(context.communication_style)  # "brief_directive"
print(context.complexity)           # "break_into_steps"
print(context.confidence)           # 0.87
