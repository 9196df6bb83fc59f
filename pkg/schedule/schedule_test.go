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

package schedule

import (
	"testing"
	"time"
	// The tests name zones; they must not depend on the machine's zoneinfo.
	_ "time/tzdata"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

func TestAt(t *testing.T) {
	ber := berlin(t)
	b := func(mo time.Month, d, h, mi, s int) time.Time { return time.Date(2026, mo, d, h, mi, s, 0, ber) }
	u := func(mo time.Month, d, h, mi, s int) time.Time { return time.Date(2026, mo, d, h, mi, s, 0, time.UTC) }
	weekdays := [7]bool{time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true, time.Friday: true}
	office := Window{Name: "office", Days: weekdays, Start: 8 * time.Hour, End: 18 * time.Hour, Location: ber}
	fridayNight := Window{Name: "night", Days: [7]bool{time.Friday: true}, Start: 22 * time.Hour, End: 6 * time.Hour, Location: ber}
	daily := func(start, end time.Duration) Window {
		return Window{Name: "daily", Start: start, End: end, Location: ber}
	}
	mondayAllDay := Window{Name: "monday", Days: [7]bool{time.Monday: true}, Start: 9 * time.Hour, End: 9 * time.Hour, Location: time.UTC}
	late := Window{Name: "late", Start: 12 * time.Hour, End: 20 * time.Hour, Location: ber}
	seconds := Window{Name: "s", Start: 12*time.Hour + 30*time.Second, End: 13 * time.Hour, Location: time.UTC}

	// 2026-06-15 is a Monday (CEST, UTC+2); 2026-03-29 and 2026-10-25 are Sundays on which
	// Berlin's clocks go forward (02:00 CET -> 03:00 CEST) and back (03:00 CEST -> 02:00 CET).
	cases := []struct {
		name       string
		windows    []Window
		now        time.Time
		active     int
		next       time.Time
		nextWindow int
	}{
		{"weekday inside", []Window{office}, b(6, 17, 10, 0, 0), 0, b(6, 17, 18, 0, 0), 0},
		{"weekday at the opening", []Window{office}, b(6, 17, 8, 0, 0), 0, b(6, 17, 18, 0, 0), 0},
		{"weekday before", []Window{office}, b(6, 17, 7, 59, 59), -1, b(6, 17, 8, 0, 0), 0},
		{"weekday at the closing", []Window{office}, b(6, 17, 18, 0, 0), -1, b(6, 18, 8, 0, 0), 0},
		{"weekday after", []Window{office}, b(6, 17, 21, 0, 0), -1, b(6, 18, 8, 0, 0), 0},
		{"now in another zone", []Window{office}, u(6, 17, 6, 30, 0), 0, b(6, 17, 18, 0, 0), 0},
		{"friday evening waits for monday", []Window{office}, b(6, 19, 19, 0, 0), -1, b(6, 22, 8, 0, 0), 0},
		{"sunday waits for monday", []Window{office}, b(6, 21, 23, 0, 0), -1, b(6, 22, 8, 0, 0), 0},

		{"overnight not yet open", []Window{fridayNight}, b(6, 19, 21, 0, 0), -1, b(6, 19, 22, 0, 0), 0},
		{"overnight open on saturday", []Window{fridayNight}, b(6, 20, 3, 0, 0), 0, b(6, 20, 6, 0, 0), 0},
		{"overnight closed saturday morning", []Window{fridayNight}, b(6, 20, 7, 0, 0), -1, b(6, 26, 22, 0, 0), 0},
		{"overnight does not open thursday", []Window{fridayNight}, b(6, 18, 23, 0, 0), -1, b(6, 19, 22, 0, 0), 0},

		{"24h before", []Window{mondayAllDay}, u(6, 15, 8, 59, 0), -1, u(6, 15, 9, 0, 0), 0},
		{"24h opened", []Window{mondayAllDay}, u(6, 15, 9, 0, 0), 0, u(6, 16, 9, 0, 0), 0},
		{"24h last second", []Window{mondayAllDay}, u(6, 16, 8, 59, 59), 0, u(6, 16, 9, 0, 0), 0},
		{"24h closed", []Window{mondayAllDay}, u(6, 16, 9, 0, 0), -1, u(6, 22, 9, 0, 0), 0},
		{"every day around the clock", []Window{daily(0, 0)}, b(6, 17, 0, 0, 0), 0, b(6, 18, 0, 0, 0), 0},

		{"overlap: only the second open", []Window{late, office}, b(6, 17, 10, 0, 0), 1, b(6, 17, 12, 0, 0), 0},
		{"overlap: the first wins", []Window{late, office}, b(6, 17, 13, 0, 0), 0, b(6, 17, 18, 0, 0), 1},
		{"overlap: the first wins, swapped", []Window{office, late}, b(6, 17, 13, 0, 0), 0, b(6, 17, 18, 0, 0), 0},
		{"overlap: the second alone again", []Window{office, late}, b(6, 17, 19, 0, 0), 1, b(6, 17, 20, 0, 0), 1},

		{"spring: opens at midnight CET", []Window{daily(0, 12*time.Hour)}, u(3, 28, 22, 30, 0), -1, u(3, 28, 23, 0, 0), 0},
		{"spring: closes at noon CEST", []Window{daily(0, 12*time.Hour)}, u(3, 29, 9, 59, 59), 0, u(3, 29, 10, 0, 0), 0},
		{"spring: office hours in CEST", []Window{office}, u(3, 30, 5, 30, 0), -1, u(3, 30, 6, 0, 0), 0},
		{"spring: a start in the gap moves forward", []Window{daily(2*time.Hour+30*time.Minute, 4*time.Hour)}, u(3, 29, 1, 15, 0), -1, u(3, 29, 1, 30, 0), 0},
		{"spring: opened after the gap", []Window{daily(2*time.Hour+30*time.Minute, 4*time.Hour)}, u(3, 29, 1, 45, 0), 0, u(3, 29, 2, 0, 0), 0},
		{"spring: a short night", []Window{fridayNight, daily(22*time.Hour, 6*time.Hour)}, u(3, 29, 3, 59, 0), 1, u(3, 29, 4, 0, 0), 1},
		{"autumn: a long morning", []Window{daily(0, 12*time.Hour)}, u(10, 25, 10, 30, 0), 0, u(10, 25, 11, 0, 0), 0},
		{"autumn: a long night", []Window{daily(22*time.Hour, 6*time.Hour)}, u(10, 25, 4, 30, 0), 0, u(10, 25, 5, 0, 0), 0},
		{"autumn: a start in the overlap takes the second 02:30", []Window{daily(2*time.Hour+30*time.Minute, 4*time.Hour)}, u(10, 25, 0, 45, 0), -1, u(10, 25, 1, 30, 0), 0},
		{"autumn: office hours in CET", []Window{office}, u(10, 26, 6, 30, 0), -1, u(10, 26, 7, 0, 0), 0},

		{"seconds: not yet", []Window{seconds}, u(6, 17, 12, 0, 29), -1, u(6, 17, 12, 0, 30), 0},
		{"seconds: open", []Window{seconds}, u(6, 17, 12, 0, 30), 0, u(6, 17, 13, 0, 0), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := At(tc.windows, tc.now)
			assert.Equal(t, tc.active, st.Active, "active")
			assert.Equal(t, tc.nextWindow, st.NextWindow, "next window")
			assert.WithinDuration(t, tc.next, st.Next, 0, "next: got %v", st.Next)
		})
	}
}

func TestAtWithoutWindows(t *testing.T) {
	for _, windows := range [][]Window{nil, {}} {
		st := At(windows, time.Date(2026, 6, 17, 10, 0, 0, 0, time.UTC))
		assert.Equal(t, State{Active: -1, NextWindow: -1}, st)
		assert.True(t, st.Next.IsZero())
	}
}

func TestParseDays(t *testing.T) {
	mask, bad, err := ParseDays([]string{"mon", "TUE", "Sun"})
	require.NoError(t, err)
	assert.Equal(t, -1, bad)
	assert.Equal(t, [7]bool{time.Sunday: true, time.Monday: true, time.Tuesday: true}, mask)

	mask, bad, err = ParseDays(nil)
	require.NoError(t, err)
	assert.Equal(t, -1, bad)
	assert.Equal(t, [7]bool{}, mask)

	for _, tc := range []struct {
		days []string
		bad  int
	}{
		{[]string{"Mon", "Funday"}, 1},
		{[]string{"Monday"}, 0},
		{[]string{"Tue", ""}, 1},
		{[]string{"Mon", "Tue", "mon"}, 2},
		{[]string{"Sat", "Sat", "Xyz"}, 1},
	} {
		mask, bad, err := ParseDays(tc.days)
		assert.Error(t, err, "%v", tc.days)
		assert.Equal(t, tc.bad, bad, "%v", tc.days)
		assert.Equal(t, [7]bool{}, mask, "%v", tc.days)
	}
}

func TestParseClock(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"00:00":    0,
		"08:00":    8 * time.Hour,
		"12:00:30": 12*time.Hour + 30*time.Second,
		"23:59:59": 24*time.Hour - time.Second,
		"18:05":    18*time.Hour + 5*time.Minute,
	} {
		got, err := ParseClock(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"24:00", "7:00", "12:60", "12:00:60", "", "1200", "12-00", "12:00:", "12:00:5", " 8:00", "+1:00", "08:00:00.5", "０８:００"} {
		_, err := ParseClock(s)
		assert.Error(t, err, "%q", s)
	}
}

func TestLoadLocation(t *testing.T) {
	for name, want := range map[string]string{"": "UTC", "UTC": "UTC", "Europe/Berlin": "Europe/Berlin", "America/New_York": "America/New_York"} {
		loc, err := LoadLocation(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, loc.String())
	}
	again, err := LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	assert.Same(t, berlin(t), again, "loaded once")
	for _, name := range []string{"Local", "Mars/Olympus_Mons", "../etc/passwd", "/etc/localtime"} {
		_, err := LoadLocation(name)
		assert.Error(t, err, name)
	}
}
