package tlog_test

import (
	"bytes"
	"net/url"
	"testing"

	"github.com/go-openapi/runtime"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func jsonConsumer() runtime.Consumer { return runtime.JSONConsumer() }
