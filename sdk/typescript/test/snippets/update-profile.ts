const profile = await amp.updateProfile({
  userId: 'user_123',
  preferredFraming: 'achievement',
  communicationStyle: 'brief_directive',
  complexityPreference: 'break_into_steps',
  encouragementLevel: 'minimal',
  metadata: {
    imported: true,
    source: 'legacy_system',
  },
});

console.log(profile.preferredFraming); // "achievement"
console.log(profile.lastUpdated);
