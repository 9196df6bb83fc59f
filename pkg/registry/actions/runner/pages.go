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

package runner

import (
	"sync"
	"time"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
)

// pageCache keeps what the next page of a paged list of runners needs, under the continue token
// handed out with the page before. kubectl reads runners in pages of 500. A list read through
// keeps the RunnerSets it read (without them, listing 5000 runners read and decoded every
// RunnerSet ten times; the pods of all pages come from one snapshot anyway, so the RunnerSets
// may as well); a list the cache answered keeps the rest of its runners, its snapshot.
type pageCache struct {
	mu      sync.Mutex
	entries map[string]*pageEntry
}

type pageEntry struct {
	rsets   *runnerSets
	runners []actions.Runner
	rv      string
	at      time.Time
}

// pageTTL bounds how long a list abandoned half-way keeps its entry.
const pageTTL = time.Minute

// take returns and forgets what was kept for a continue token.
func (c *pageCache) take(key string) *pageEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	delete(c.entries, key)
	if !ok || time.Since(e.at) > pageTTL {
		return nil
	}
	return e
}

// put keeps e for the page that will come with the continue token key.
func (c *pageCache) put(key string, e *pageEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for k, e := range c.entries {
		if now.Sub(e.at) > pageTTL {
			delete(c.entries, k)
		}
	}
	if c.entries == nil {
		c.entries = map[string]*pageEntry{}
	}
	e.at = now
	c.entries[key] = e
}
