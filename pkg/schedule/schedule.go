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

// Package schedule is the clock arithmetic of a RunnerSet's recurring windows, shared by the
// API's validation (which parses) and the scaler (which asks what is open and until when).
package schedule

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Window is a recurring window, on wall-clock time in Location.
type Window struct {
	Name string
	// Days is indexed by time.Weekday: the days the window opens on; all false = every day.
	Days [7]bool
	// Start is the opening time since midnight, wall clock.
	Start time.Duration
	// End is the closing time since midnight; End <= Start closes the next day (End == Start:
	// open 24h).
	End time.Duration
	// Location is never nil after parsing.
	Location *time.Location
}

// dayNames are the accepted days, indexed by time.Weekday.
var dayNames = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// ParseDays parses Mon..Sun (the three-letter English names, in any case). It returns the index
// of the first bad or duplicate entry (-1 when all are fine) and an error saying what is wrong;
// on error the mask is empty, so that a half-parsed list is never taken for a schedule.
func ParseDays(days []string) (mask [7]bool, bad int, err error) {
	for i, d := range days {
		wd := -1
		for j, name := range dayNames {
			if strings.EqualFold(d, name) {
				wd = j
			}
		}
		switch {
		case wd < 0:
			return [7]bool{}, i, fmt.Errorf("%q is not a day of the week: use Mon, Tue, Wed, Thu, Fri, Sat or Sun", d)
		case mask[wd]:
			return [7]bool{}, i, fmt.Errorf("%q repeats %s", d, dayNames[wd])
		}
		mask[wd] = true
	}
	return mask, -1, nil
}

// ParseClock parses "HH:MM" or "HH:MM:SS", 00:00 .. 23:59:59, two digits each. The form is
// strict so that a time reads the same to the user, the API and the scaler.
func ParseClock(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a time of day: use HH:MM or HH:MM:SS, two digits each, from 00:00 to 23:59:59", s)
	if len(s) != 5 && len(s) != 8 {
		return 0, bad
	}
	var parts [3]int
	for i := 0; i*3 < len(s); i++ {
		f := s[i*3:]
		if !isDigit(f[0]) || !isDigit(f[1]) || (len(f) > 2 && f[2] != ':') {
			return 0, bad
		}
		parts[i] = int(f[0]-'0')*10 + int(f[1]-'0')
	}
	if parts[0] > 23 || parts[1] > 59 || parts[2] > 59 {
		return 0, bad
	}
	return time.Duration(parts[0])*time.Hour + time.Duration(parts[1])*time.Minute + time.Duration(parts[2])*time.Second, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// locations caches loaded zones: validation runs on every read of a stored object, and
// time.LoadLocation reads and parses the zone's file each time. Only names that loaded are
// kept, so the cache is bounded by the IANA database.
var locations sync.Map // string -> *time.Location

// LoadLocation loads an IANA time zone name; "" is UTC. It refuses "Local": a server's own zone
// is meaningless to a user and changes with where the server runs.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, errors.New(`"Local" is the server's own time zone: name an IANA time zone, such as Europe/Berlin`)
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

// State is where windows stand at an instant.
type State struct {
	// Active is the index of the first window open at the instant, -1 when none.
	Active int
	// Next is the first instant strictly after it at which any window opens or closes, in
	// that window's Location; zero when there are no windows.
	Next time.Time
	// NextWindow is the index of the window that opens or closes at Next, -1 when none.
	NextWindow int
}

// At tells which window is open at now and when the next one opens or closes. Windows are
// [open, close): a window closing at the instant another opens hands over without a gap.
func At(windows []Window, now time.Time) State {
	st := State{Active: -1, NextWindow: -1}
	for i := range windows {
		windows[i].occurrences(now, func(open, close time.Time) {
			if st.Active < 0 && !now.Before(open) && now.Before(close) {
				st.Active = i
			}
			for _, edge := range [2]time.Time{open, close} {
				if edge.After(now) && (st.Next.IsZero() || edge.Before(st.Next)) {
					st.Next, st.NextWindow = edge, i
				}
			}
		})
	}
	return st
}

// occurrences calls f for each opening of w from 2 days before now's date to 8 days after: an
// occurrence that opened a day before may still be open, and every window opens within a week,
// so both Active and Next are found in that span.
func (w *Window) occurrences(now time.Time, f func(open, close time.Time)) {
	loc := w.Location
	if loc == nil {
		loc = time.UTC // a Window built by hand; time.Date panics on nil
	}
	y, m, d := now.In(loc).Date()
	for day := d - 2; day <= d+8; day++ {
		// The weekday of a civil date, at noon UTC so that no zone shifts it.
		if wd := time.Date(y, m, day, 12, 0, 0, 0, time.UTC).Weekday(); w.Days != [7]bool{} && !w.Days[wd] {
			continue
		}
		closeDay := day
		if w.End <= w.Start {
			closeDay++
		}
		f(wallClock(y, m, day, w.Start, loc), wallClock(y, m, closeDay, w.End, loc))
	}
}

// wallClock is the instant at clock since midnight of a date in loc. time.Date resolves a wall
// time in a DST gap or overlap the way Go does everywhere (a gap's times move forward).
func wallClock(y int, m time.Month, d int, clock time.Duration, loc *time.Location) time.Time {
	h, mi, s := clock/time.Hour, clock%time.Hour/time.Minute, clock%time.Minute/time.Second
	return time.Date(y, m, d, int(h), int(mi), int(s), int(clock%time.Second), loc)
}
