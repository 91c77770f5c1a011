package tlog

import (
	"context"
	"log/slog"
	"sync"

	"k8s.io/klog/v2"
)

var routeKlogOnce sync.Once

// routeKlog sends tessera's klog output to log/slog, so that the process
// logs through one logger.
func routeKlog() {
	routeKlogOnce.Do(func() { klog.SetSlogLogger(slog.New(defaultHandler{})) })
}

// defaultHandler forwards to whatever slog.Default is at the time of the
// call, so a logger configured after Open is still honoured.
type defaultHandler struct{}

// Enabled, Handle, WithAttrs and WithGroup delegate to slog.Default.
func (defaultHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return slog.Default().Handler().Enabled(ctx, l)
}
func (defaultHandler) Handle(ctx context.Context, r slog.Record) error {
	return slog.Default().Handler().Handle(ctx, r)
}
func (h defaultHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return slog.Default().Handler().WithAttrs(as)
}
func (h defaultHandler) WithGroup(name string) slog.Handler {
	return slog.Default().Handler().WithGroup(name)
}
