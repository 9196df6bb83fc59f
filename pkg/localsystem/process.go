/*
Copyright 2026 The runnerset-apiserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package localsystem

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

const (
	// stopGrace is how long a component gets between SIGTERM and SIGKILL.
	stopGrace = 10 * time.Second
	// logTailLines is how much of a failing component's log an error carries.
	logTailLines = 40
)

// process is one running component.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	// done is closed once the process has exited and been reaped; err is valid after that.
	done chan struct{}
	err  error
	// stopRequested tells an exit we asked for from a crash.
	stopRequested atomic.Bool
	// reported makes sure an unexpected exit is reported once.
	reported atomic.Bool
}

// startProcess starts binary with args, its stdout and stderr appended to logPath. The process
// gets its own process group, so a Ctrl-C on the terminal reaches only the parent, which then
// stops the components in order, and on Linux it is killed when the parent dies, so nothing
// outlives a crashed parent. env is added to the caller's environment. onExit, if not nil,
// runs after the process is reaped.
func startProcess(name, logPath, binary string, args, env []string, onExit func(*process)) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening log of %s: %w", name, err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	// A fixed working directory keeps components from writing relative files (e.g. kwok's
	// caches) wherever the caller happened to be.
	cmd.Dir = filepath.Dir(logPath)
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, binary, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logFile: logFile, done: make(chan struct{})}
	klog.V(1).InfoS("Started component", "component", name, "pid", cmd.Process.Pid, "log", logPath)
	klog.V(4).InfoS("Component command line", "component", name, "args", args)
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
		if onExit != nil {
			onExit(p)
		}
	}()
	return p, nil
}

// pid returns the process id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs and waits for the process to be reaped.
// It signals the process by its pid only, never a group or a name.
func (p *process) stop(grace time.Duration) {
	p.stopRequested.Store(true)
	if p.exited() {
		return
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		klog.ErrorS(err, "Failed to send SIGTERM", "component", p.name, "pid", p.pid())
	}
	select {
	case <-p.done:
		klog.V(1).InfoS("Stopped component", "component", p.name, "pid", p.pid(), "duration", time.Since(start).Round(time.Millisecond))
		return
	case <-time.After(grace):
	}
	klog.InfoS("Component ignored SIGTERM, killing it", "component", p.name, "pid", p.pid(), "grace", grace)
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		klog.ErrorS(err, "Failed to send SIGKILL", "component", p.name, "pid", p.pid())
	}
	<-p.done
}

// exitError describes how the process ended, for error messages.
func (p *process) exitError() error {
	if !p.exited() {
		return nil
	}
	if p.err == nil {
		return errors.New("exited with status 0")
	}
	return fmt.Errorf("exited: %w", p.err)
}

// logTail returns the last n lines of the process's log.
func (p *process) logTail(n int) string {
	return tailFile(p.logPath, n)
}

// logContains reports whether the process's log contains s.
func (p *process) logContains(s string) bool {
	b, err := os.ReadFile(p.logPath)
	return err == nil && bytes.Contains(b, []byte(s))
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// componentError wraps err with the tail of p's log, which is almost always where the reason is.
func componentError(p *process, err error) error {
	return fmt.Errorf("%w\n--- last %d lines of %s ---\n%s\n---", err, logTailLines, p.logPath, p.logTail(logTailLines))
}
