package sqlite

import (
	"context"
	"testing"

	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := New(context.Background(), Config{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := New(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, "alice", storetest.Pub("a", "1.0.0")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = New(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Package(ctx, "a")
	if err != nil || len(p.Versions) != 1 {
		t.Fatalf("after reopen: %+v, %v", p, err)
	}
}

func TestNewRejectsEmptyDir(t *testing.T) {
	if _, err := New(context.Background(), Config{}); err == nil {
		t.Fatal("New with empty dir succeeded")
	}
}
