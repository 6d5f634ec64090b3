package tracing

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/amp-protocol/amp"
)

// Store returns s with a client span around every call, named
// "store.<Method>", with db.system.name (system, e.g. "sqlite") and
// db.operation.name. Arguments are not recorded: they hold user ids and
// key hashes. A not-found answer is an ordinary outcome, not an error.
// With tracing off, s is returned as it is.
//
// Only the account, key and learning calls a request makes are traced;
// the other roles' calls pass through.
func (t *Tracing) Store(s amp.Store, system string) amp.Store {
	if t == nil {
		return s
	}
	return &tracedStore{Store: s, tracer: t.tracer, system: semconv.DBSystemNameKey.String(system)}
}

var _ amp.Store = (*tracedStore)(nil)

// tracedStore embeds the store, so that a role without request-path calls
// (usage rows, webhooks, dashboard users…) passes through untraced.
type tracedStore struct {
	amp.Store
	tracer trace.Tracer
	system attribute.KeyValue
}

func (s *tracedStore) start(ctx context.Context, op string) (context.Context, trace.Span) {
	return s.tracer.Start(ctx, "store."+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(s.system, semconv.DBOperationName(op)))
}

func (s *tracedStore) end(span trace.Span, err error) {
	if errors.Is(err, amp.ErrNotFound) {
		err = nil
	}
	endSpan(span, err)
}

// Close is not traced: it has no request to belong to.
func (s *tracedStore) Close() error { return s.Store.Close() }

func (s *tracedStore) CreateAccount(ctx context.Context, a *amp.Account) error {
	ctx, span := s.start(ctx, "CreateAccount")
	err := s.Store.CreateAccount(ctx, a)
	s.end(span, err)
	return err
}

func (s *tracedStore) Account(ctx context.Context, id string) (*amp.Account, error) {
	ctx, span := s.start(ctx, "Account")
	v, err := s.Store.Account(ctx, id)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) Accounts(ctx context.Context) ([]*amp.Account, error) {
	ctx, span := s.start(ctx, "Accounts")
	v, err := s.Store.Accounts(ctx)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) UpdateAccount(ctx context.Context, a *amp.Account) error {
	ctx, span := s.start(ctx, "UpdateAccount")
	err := s.Store.UpdateAccount(ctx, a)
	s.end(span, err)
	return err
}

func (s *tracedStore) CreateKey(ctx context.Context, k *amp.APIKey) error {
	ctx, span := s.start(ctx, "CreateKey")
	err := s.Store.CreateKey(ctx, k)
	s.end(span, err)
	return err
}

func (s *tracedStore) KeyByHash(ctx context.Context, hash string) (*amp.APIKey, error) {
	ctx, span := s.start(ctx, "KeyByHash")
	v, err := s.Store.KeyByHash(ctx, hash)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) Key(ctx context.Context, id string) (*amp.APIKey, error) {
	ctx, span := s.start(ctx, "Key")
	v, err := s.Store.Key(ctx, id)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) Keys(ctx context.Context, accountID string) ([]*amp.APIKey, error) {
	ctx, span := s.start(ctx, "Keys")
	v, err := s.Store.Keys(ctx, accountID)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) UpdateKey(ctx context.Context, k *amp.APIKey) error {
	ctx, span := s.start(ctx, "UpdateKey")
	err := s.Store.UpdateKey(ctx, k)
	s.end(span, err)
	return err
}

func (s *tracedStore) TouchKey(ctx context.Context, id string, at time.Time) error {
	ctx, span := s.start(ctx, "TouchKey")
	err := s.Store.TouchKey(ctx, id, at)
	s.end(span, err)
	return err
}

func (s *tracedStore) Profile(ctx context.Context, t amp.Tenant, userID string) (*amp.ProfileRecord, error) {
	ctx, span := s.start(ctx, "Profile")
	v, err := s.Store.Profile(ctx, t, userID)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) Population(ctx context.Context, t amp.Tenant) (*amp.PopulationRecord, error) {
	ctx, span := s.start(ctx, "Population")
	v, err := s.Store.Population(ctx, t)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) SaveDecision(ctx context.Context, d *amp.Decision, newProfile *amp.ProfileRecord) error {
	ctx, span := s.start(ctx, "SaveDecision")
	err := s.Store.SaveDecision(ctx, d, newProfile)
	s.end(span, err)
	return err
}

func (s *tracedStore) RecordOutcome(ctx context.Context, t amp.Tenant, requestID string, apply amp.OutcomeFunc) (*amp.OutcomeRecord, error) {
	ctx, span := s.start(ctx, "RecordOutcome")
	v, err := s.Store.RecordOutcome(ctx, t, requestID, apply)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) UpdateProfile(ctx context.Context, t amp.Tenant, userID string, apply func(p *amp.ProfileRecord, created bool) error) (*amp.ProfileRecord, error) {
	ctx, span := s.start(ctx, "UpdateProfile")
	v, err := s.Store.UpdateProfile(ctx, t, userID, apply)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) DeleteProfile(ctx context.Context, t amp.Tenant, userID string) error {
	ctx, span := s.start(ctx, "DeleteProfile")
	err := s.Store.DeleteProfile(ctx, t, userID)
	s.end(span, err)
	return err
}

func (s *tracedStore) ProfileStats(ctx context.Context, t amp.Tenant, userID string) (*amp.ProfileStats, error) {
	ctx, span := s.start(ctx, "ProfileStats")
	v, err := s.Store.ProfileStats(ctx, t, userID)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) Outcomes(ctx context.Context, t amp.Tenant, userID string, limit int) ([]*amp.OutcomeRecord, error) {
	ctx, span := s.start(ctx, "Outcomes")
	v, err := s.Store.Outcomes(ctx, t, userID, limit)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) Decisions(ctx context.Context, t amp.Tenant, since time.Time, limit int) ([]*amp.LoggedDecision, error) {
	ctx, span := s.start(ctx, "Decisions")
	v, err := s.Store.Decisions(ctx, t, since, limit)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) ResetTestData(ctx context.Context) (int64, error) {
	ctx, span := s.start(ctx, "ResetTestData")
	v, err := s.Store.ResetTestData(ctx)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) Setting(ctx context.Context, name string) (string, error) {
	ctx, span := s.start(ctx, "Setting")
	v, err := s.Store.Setting(ctx, name)
	s.end(span, err)
	return v, err
}

func (s *tracedStore) SetSetting(ctx context.Context, name, value string) error {
	ctx, span := s.start(ctx, "SetSetting")
	err := s.Store.SetSetting(ctx, name, value)
	s.end(span, err)
	return err
}

func (s *tracedStore) Ping(ctx context.Context) error {
	ctx, span := s.start(ctx, "Ping")
	err := s.Store.Ping(ctx)
	s.end(span, err)
	return err
}
