package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/service"
)

// webhookSettings are the Config settings of amp webhooks.
var webhookSettings = append([]string{"webhook-allow-private"}, adminSettings...)

func webhookCommands() []subcommand {
	return []subcommand{
		{"add", "--data DIR --account ID --mode test|live --url URL --events TYPES|all [--description TEXT]", "add an endpoint and print its signing secret", runWebhooksAdd},
		{"list", "--data DIR --account ID", "list an account's endpoints", runWebhooksList},
		{"update", "--data DIR ENDPOINT_ID [--url URL] [--events TYPES|all] [--description TEXT] [--enable|--disable]", "change an endpoint", runWebhooksUpdate},
		{"remove", "--data DIR ENDPOINT_ID", "delete an endpoint and its delivery log", runWebhooksRemove},
		{"roll-secret", "--data DIR ENDPOINT_ID [--grace now|1h|24h|7d]", "replace an endpoint's signing secret", runWebhooksRollSecret},
		{"test", "--data DIR ENDPOINT_ID", "send a webhook.test event to an endpoint", runWebhooksTest},
		{"deliveries", "--data DIR --account ID [--endpoint ID] [--status pending|succeeded|failed] [--limit N]", "show the delivery log", runWebhooksDeliveries},
		{"show", "--data DIR DELIVERY_ID", "show one delivery and each of its attempts", runWebhooksShow},
		{"replay", "--data DIR DELIVERY_ID", "send a finished delivery again", runWebhooksReplay},
	}
}

func runWebhooks(ctx context.Context, e *env, args []string) error {
	return runGroup(ctx, e, "webhooks", `Webhook endpoints receive an account's events of one mode (key.leak_suspected,
key.quarantined, key.expiring, key.rotation_due, quota.threshold,
rate_limit.sustained, profile.deleted; webhook.test on request) as signed
JSON POSTs: verify the AMP-Signature header with the endpoint's secret
(docs/webhooks.md), deduplicate by the event id, answer 2xx. A running
server delivers within a second of an event and retries failures with
exponential backoff for 3 days.`, webhookCommands(), args)
}

// eventTypesFlag parses --events: comma-separated types, or all.
func eventTypesFlag(v string) []amp.EventType {
	if strings.TrimSpace(v) == "all" {
		return amp.EventTypes
	}
	var out []amp.EventType
	for t := range strings.SplitSeq(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, amp.EventType(t))
		}
	}
	return out
}

const eventTypesDoc = "comma-separated event `TYPES` (key.leak_suspected, key.quarantined, key.expiring, key.rotation_due, quota.threshold, rate_limit.sustained, profile.deleted), or all"

func runWebhooksAdd(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "webhooks add", subSynopsis(webhookCommands(), "add"), `
Add an endpoint for the account's events of one mode, and print its id and
its signing secret (whsec_…). The secret is shown only this once; "amp
webhooks roll-secret" replaces it. A live-mode URL must be https. URLs that
name a private, loopback or link-local address are refused unless the
server runs with --webhook-allow-private, and so are deliveries to host
names that resolve to one.`, webhookSettings...)
	account := cl.fs.String("account", "", "the account's `ID`")
	mode := cl.fs.String("mode", "", "`MODE` of the events: test or live")
	url := cl.fs.String("url", "", "the endpoint's `URL`")
	events := cl.fs.String("events", "", eventTypesDoc)
	desc := cl.fs.String("description", "", "a `TEXT` to recognise the endpoint by")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	for _, r := range [][2]string{{"account", *account}, {"mode", *mode}, {"url", *url}, {"events", *events}} {
		if err := cl.required(r[0], r[1]); err != nil {
			return err
		}
	}
	c, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (*service.CreatedEndpoint, error) {
		return a.svc.CreateWebhookEndpoint(ctx, *account, amp.Mode(*mode), service.EndpointOptions{URL: *url, Description: *desc, EventTypes: eventTypesFlag(*events)})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "endpoint %s\nsecret %s\n", c.Endpoint.ID, c.Secret)
	return nil
}

func runWebhooksList(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "webhooks list", subSynopsis(webhookCommands(), "list"), `
List the account's endpoints, oldest first. Secrets are not shown.`, webhookSettings...)
	account := cl.fs.String("account", "", "the account's `ID`")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if err := cl.required("account", *account); err != nil {
		return err
	}
	var now time.Time
	eps, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) ([]*amp.WebhookEndpoint, error) {
		now = a.svc.Now()
		return a.svc.WebhookEndpoints(ctx, *account)
	})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMODE\tSTATUS\tURL\tEVENTS\tSECRETS\tDESCRIPTION")
	for _, ep := range eps {
		status := "enabled"
		if ep.Disabled {
			status = "disabled"
		}
		types := make([]string, len(ep.EventTypes))
		for i, t := range ep.EventTypes {
			types[i] = string(t)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", ep.ID, ep.Mode, status, ep.URL, strings.Join(types, ","), len(ep.SigningSecrets(now)), dash(ep.Description))
	}
	return tw.Flush()
}

func runWebhooksUpdate(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "webhooks update", subSynopsis(webhookCommands(), "update"), `
Change an endpoint: only the flags given change. A disabled endpoint
receives no new deliveries; its pending ones fail (they can be replayed).`, webhookSettings...)
	url := cl.fs.String("url", "", "a new `URL`")
	events := cl.fs.String("events", "", eventTypesDoc)
	desc := cl.fs.String("description", "", "a new `TEXT`")
	enable := cl.fs.Bool("enable", false, "enable the endpoint")
	disable := cl.fs.Bool("disable", false, "disable the endpoint")
	pos, done, err := cl.parse(args, 1, 1)
	if done {
		return err
	}
	if *enable && *disable {
		return usageError("amp webhooks update: --enable and --disable exclude each other")
	}
	var c service.EndpointChange
	cl.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "url":
			c.URL = url
		case "description":
			c.Description = desc
		case "events":
			c.EventTypes = eventTypesFlag(*events)
			if c.EventTypes == nil {
				c.EventTypes = []amp.EventType{}
			}
		}
	})
	if *enable || *disable {
		c.Disabled = disable
	}
	ep, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (*amp.WebhookEndpoint, error) {
		return a.svc.UpdateWebhookEndpoint(ctx, "", pos[0], c)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "updated %s\n", ep.ID)
	return nil
}

func runWebhooksRemove(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "webhooks remove", subSynopsis(webhookCommands(), "remove"), `
Delete an endpoint with its pending deliveries and its delivery log.`, webhookSettings...)
	pos, done, err := cl.parse(args, 1, 1)
	if done {
		return err
	}
	if _, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (struct{}, error) {
		return struct{}{}, a.svc.DeleteWebhookEndpoint(ctx, "", pos[0])
	}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %s\n", pos[0])
	return nil
}

func runWebhooksRollSecret(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "webhooks roll-secret", subSynopsis(webhookCommands(), "roll-secret"), `
Give an endpoint a new signing secret and print it, once. During the grace
period every delivery carries two v1 signatures, one per secret, so that
the receiver can switch to the new secret without missing a delivery.`, webhookSettings...)
	graceFlag := cl.fs.String("grace", "24h", "how long the old secret keeps signing: now, or a `DURATION` up to 7d")
	pos, done, err := cl.parse(args, 1, 1)
	if done {
		return err
	}
	var grace time.Duration
	if *graceFlag != "now" {
		if grace, err = parseDuration(*graceFlag); err != nil {
			return usageError("amp webhooks roll-secret: --grace: %v", err)
		}
	}
	c, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (*service.CreatedEndpoint, error) {
		return a.svc.RollWebhookSecret(ctx, "", pos[0], grace)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, c.Secret)
	return nil
}

func runWebhooksTest(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "webhooks test", subSynopsis(webhookCommands(), "test"), `
Record a webhook.test event for the endpoint alone; a running server
delivers it within a second. "amp webhooks deliveries" shows the outcome.`, webhookSettings...)
	pos, done, err := cl.parse(args, 1, 1)
	if done {
		return err
	}
	ev, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (*amp.WebhookEvent, error) {
		return a.svc.SendTestEvent(ctx, "", pos[0])
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "event %s queued for %s\n", ev.ID, pos[0])
	return nil
}

func runWebhooksDeliveries(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "webhooks deliveries", subSynopsis(webhookCommands(), "deliveries"), `
Show the account's deliveries, newest first: status, attempts, the last
attempt's HTTP status, latency and error, and when a pending one is next
attempted. For the next page, give --before the last ID shown.`, webhookSettings...)
	account := cl.fs.String("account", "", "the account's `ID`")
	endpoint := cl.fs.String("endpoint", "", "only this endpoint's `ID`")
	status := cl.fs.String("status", "", "only deliveries in this `STATUS`: pending, succeeded or failed")
	mode := cl.fs.String("mode", "", "only deliveries of this `MODE`: test or live")
	typ := cl.fs.String("type", "", "only deliveries of events of this `TYPE`, such as key.quarantined")
	before := cl.fs.String("before", "", "only deliveries older than the delivery `ID` (the next page)")
	limit := cl.fs.Int("limit", 50, "at most `N` deliveries (up to 1000)")
	if _, done, err := cl.parse(args, 0, 0); done {
		return err
	}
	if err := cl.required("account", *account); err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 {
		return usageError("amp webhooks deliveries: --limit must be between 1 and 1000")
	}
	ds, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) ([]*amp.WebhookDelivery, error) {
		return a.svc.WebhookDeliveries(ctx, amp.DeliveryQuery{AccountID: *account, EndpointID: *endpoint, Status: amp.DeliveryStatus(*status),
			Mode: amp.Mode(*mode), EventType: amp.EventType(*typ), Before: *before, Limit: *limit})
	})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEVENT\tTYPE\tENDPOINT\tSTATUS\tATTEMPTS\tLAST\tHTTP\tLATENCY\tNEXT\tERROR")
	for _, d := range ds {
		next := "-"
		if d.Status == amp.DeliveryPending {
			next = d.NextAttemptAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.EventID, d.EventType, d.EndpointID, d.Status, d.Attempts,
			timeOrDash(d.LastAttemptAt), httpStatus(d.LastStatus), latency(d.LastAttemptAt, d.LastLatency), next, dash(d.LastError))
	}
	return tw.Flush()
}

func httpStatus(s int) string {
	if s == 0 {
		return "-"
	}
	return fmt.Sprint(s)
}

func latency(at *time.Time, d time.Duration) string {
	if at == nil {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}

func runWebhooksShow(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "webhooks show", subSynopsis(webhookCommands(), "show"), `
Show a delivery and its log: one line per attempt, with its time, HTTP
status, latency and error.`, webhookSettings...)
	pos, done, err := cl.parse(args, 1, 1)
	if done {
		return err
	}
	var log []*amp.DeliveryAttempt
	d, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (d *amp.WebhookDelivery, err error) {
		d, log, err = a.svc.WebhookDelivery(ctx, "", pos[0])
		return d, err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "delivery %s of event %s (%s) to %s: %s after %d attempts\n", d.ID, d.EventID, d.EventType, d.EndpointID, d.Status, d.Attempts)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTEMPT\tAT\tHTTP\tLATENCY\tERROR")
	for _, at := range log {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", at.Attempt, at.At.UTC().Format(time.RFC3339), httpStatus(at.Status), at.Latency.Round(time.Millisecond), dash(at.Error))
	}
	return tw.Flush()
}

func runWebhooksReplay(ctx context.Context, e *env, args []string) error {
	cl := newCmdLine(e, "webhooks replay", subSynopsis(webhookCommands(), "replay"), `
Send a finished (failed or succeeded) delivery again, at once, with the
same event id and body: receivers that deduplicate by the id see it once.`, webhookSettings...)
	pos, done, err := cl.parse(args, 1, 1)
	if done {
		return err
	}
	d, err := withAdmin(ctx, e, &cl.cfg, func(a *admin) (*amp.WebhookDelivery, error) {
		return a.svc.ReplayDelivery(ctx, "", pos[0])
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "replaying %s\n", d.ID)
	return nil
}
