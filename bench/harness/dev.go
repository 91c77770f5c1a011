package main

import (
	"context"
	"fmt"
	"os/exec"
	"time"
)

// devStack is a running `provenant dev`: trust services and a registry, the
// target of the timed provenant publish --provenance runs.
type devStack struct {
	t *target
}

// startDevStack starts `provenant dev` with its state under dir.
func startDevStack(ctx context.Context, bin, dir string) (*devStack, error) {
	if exec.Command(bin, "dev", "--help").Run() != nil {
		return nil, fmt.Errorf("%s has no `dev` subcommand yet", bin)
	}
	return nil, fmt.Errorf("dev stack support pending")
}

func (d *devStack) publish(ctx context.Context, k int) (time.Duration, error) {
	return 0, fmt.Errorf("not implemented")
}

func (d *devStack) stop() {
	if d.t != nil {
		d.t.stop()
	}
}
