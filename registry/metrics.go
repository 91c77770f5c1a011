package registry

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the registry's Prometheus metrics, in a registry of their
// own so that several servers can live in one process (tests).
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	publish  *prometheus.CounterVec
	pubTime  prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "provenant_registry_requests_total", Help: "HTTP requests by method and status.",
		}, []string{"method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "provenant_registry_request_seconds", Help: "HTTP request latency by method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}, []string{"method"}),
		publish: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "provenant_registry_publishes_total", Help: "Publish attempts by outcome (HTTP status).",
		}, []string{"status"}),
		pubTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "provenant_registry_publish_seconds", Help: "Publish latency, verification included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.publish, m.pubTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		status := c.Response().Status
		if err != nil {
			status, _ = statusOf(err)
		}
		method := c.Request().Method
		m.requests.WithLabelValues(method, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(method).Observe(time.Since(start).Seconds())
		return err
	}
}

func (m *metrics) observePublish(err error, d time.Duration) {
	status := 201
	if err != nil {
		status, _ = statusOf(err)
	}
	m.publish.WithLabelValues(strconv.Itoa(status)).Inc()
	m.pubTime.Observe(d.Seconds())
}
