package replication

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Observer is told what the replicator reports (*metrics.Metrics is one).
type Observer interface {
	ReplicationUp(up bool)
	ReplicationSynced(through time.Time, txid uint64)
	ReplicationFailed()
}

// Restart delays after the replicator exits unexpectedly: the first, doubling up to the last.
const (
	firstRestartDelay = time.Second
	maxRestartDelay   = time.Minute
)

// Process is the replicator as the server sees it: a child process it restarts when it dies,
// until Stop.
type Process struct {
	command []string // the weftid binary and its replicate command
	obs     Observer
	log     *slog.Logger

	mu      sync.Mutex
	cmd     *exec.Cmd     // the child running (or last run)
	stdin   io.Closer     // closing it stops that child after a final sync
	stopped chan struct{} // closed by Stop, under mu
	done    chan struct{} // closed when the supervisor has returned
	synced  time.Time     // of the last successful sync, for the log (the supervisor's own)
}

// Start starts the replicator: command is the weftid binary and the arguments that run its
// replicate command on the database. It returns once the first child has started; a child
// that exits before Stop is logged and started again, after a delay that doubles up to a minute.
func Start(command []string, obs Observer, log *slog.Logger) (*Process, error) {
	p := &Process{command: command, obs: obs, log: log, stopped: make(chan struct{}), done: make(chan struct{})}
	status, err := p.spawn()
	if err != nil {
		return nil, err
	}
	go p.supervise(status)
	return p, nil
}

// spawn starts one child, its standard input a pipe whose closing stops it, its standard output
// its Status lines, its standard error the server's.
func (p *Process) spawn() (io.Reader, error) {
	cmd := exec.Command(p.command[0], p.command[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("replication: start the replicator: %w", err)
	}
	p.mu.Lock()
	p.cmd, p.stdin = cmd, stdin
	select {
	case <-p.stopped: // Stop came while it started: it stops at once, after its first sync
		stdin.Close()
	default:
	}
	p.mu.Unlock()
	p.obs.ReplicationUp(true)
	p.log.Info("replication started", "pid", cmd.Process.Pid)
	return stdout, nil
}

// supervise reads the child's reports until it exits, and starts another until Stop.
func (p *Process) supervise(status io.Reader) {
	defer close(p.done)
	delay := firstRestartDelay
	for {
		started := time.Now()
		p.read(status)
		p.mu.Lock()
		cmd := p.cmd
		p.mu.Unlock()
		err := cmd.Wait()
		p.obs.ReplicationUp(false)
		if p.isStopped() {
			if err != nil {
				p.log.Error("replication: the final sync did not finish", "err", err)
			} else {
				p.log.Info("replication stopped after a final sync", "synced", p.synced)
			}
			return
		}
		if time.Since(started) > maxRestartDelay {
			delay = firstRestartDelay // it had been running well
		}
		p.log.Error("replication: the replicator exited; starting it again", "err", err, "in", delay)
		for {
			select {
			case <-p.stopped:
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, maxRestartDelay)
			if status, err = p.spawn(); err == nil {
				break
			}
			p.log.Error("replication: cannot start the replicator", "err", err)
		}
	}
}

func (p *Process) isStopped() bool {
	select {
	case <-p.stopped:
		return true
	default:
		return false
	}
}

// read passes each Status line to the observer until the child closes its output.
func (p *Process) read(status io.Reader) {
	lines := bufio.NewScanner(status)
	for lines.Scan() {
		var s Status
		if err := json.Unmarshal(lines.Bytes(), &s); err != nil {
			p.log.Warn("replication: unreadable status", "line", lines.Text())
			continue
		}
		if s.Error != "" {
			p.obs.ReplicationFailed()
			continue
		}
		if p.synced.IsZero() {
			p.log.Info("replication: first sync done", "txid", s.TXID)
		}
		p.synced = s.Synced
		p.obs.ReplicationSynced(s.Synced, s.TXID)
	}
}

// Stop stops the replicator after a final sync and waits for it, at most until ctx ends (then it
// is killed, and what it had not copied yet is not in the replica).
func (p *Process) Stop(ctx context.Context) error {
	p.mu.Lock()
	if !p.isStopped() {
		close(p.stopped)
		p.stdin.Close()
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	p.cmd.Process.Kill()
	p.mu.Unlock()
	<-p.done
	return errors.New("replication: the final sync ran out of time; the replicator was killed")
}
