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
)

// pageCache keeps the RunnerSets read for one page of a paged list of runners, under the continue
// token handed out with that page, for the next page to use. kubectl reads runners in pages of
// 500; without it, listing 5000 runners read and decoded every RunnerSet ten times. The pods of
// all pages come from one snapshot anyway, so the RunnerSets may as well.
type pageCache struct {
	mu      sync.Mutex
	entries map[string]pageEntry
}

type pageEntry struct {
	rsets *runnerSets
	at    time.Time
}

// pageTTL bounds how long a list abandoned half-way keeps its entry.
const pageTTL = time.Minute

// take returns and forgets what was kept for a continue token.
func (c *pageCache) take(key string) *runnerSets {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	delete(c.entries, key)
	if !ok || time.Since(e.at) > pageTTL {
		return nil
	}
	return e.rsets
}

// put keeps rsets for the page that will come with the continue token key.
func (c *pageCache) put(key string, rsets *runnerSets) {
	if rsets == nil || rsets.err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for k, e := range c.entries {
		if now.Sub(e.at) > pageTTL {
			delete(c.entries, k)
		}
	}
	if c.entries == nil {
		c.entries = map[string]pageEntry{}
	}
	c.entries[key] = pageEntry{rsets: rsets, at: now}
}
