profile = amp.update_profile(
    user_id="user_123",
    preferred_framing="achievement",
    communication_style="brief_directive",
    complexity_preference="break_into_steps",
    encouragement_level="minimal",
    metadata={
        "imported": True,
        "source": "legacy_system",
    },
)

print(profile.preferred_framing)  # "achievement"
print(profile.last_updated)
