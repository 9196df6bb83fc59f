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

package validation

import (
	"fmt"
	"testing"
	// The server's binary carries the zone database (cmd/apiserver); so do the tests.
	_ "time/tzdata"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
)

func officeHours() actions.RunnerSetSchedule {
	return actions.RunnerSetSchedule{Name: "office-hours", Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri"},
		Start: "08:00", End: "18:00", TimeZone: "Europe/Berlin", MinRunners: ptr.To[int32](5), MaxRunners: ptr.To[int32](20)}
}

func TestValidSchedules(t *testing.T) {
	tests := map[string]func(*actions.RunnerSetSpec){
		"office hours": func(s *actions.RunnerSetSpec) { s.Schedules = []actions.RunnerSetSchedule{officeHours()} },
		"every day, UTC, overnight, seconds, no counts": func(s *actions.RunnerSetSpec) {
			s.Schedules = []actions.RunnerSetSchedule{{Name: "night", Start: "22:00:30", End: "06:00"}}
		},
		"days in any case": func(s *actions.RunnerSetSpec) {
			w := officeHours()
			w.Days = []string{"sat", "SUN"}
			s.Schedules = []actions.RunnerSetSchedule{w}
		},
		"a window that only lowers the cap": func(s *actions.RunnerSetSpec) {
			s.Schedules = []actions.RunnerSetSchedule{{Name: "weekend", Days: []string{"Sat", "Sun"}, Start: "00:00", End: "00:00", MaxRunners: ptr.To[int32](0)}}
		},
		"twenty windows": func(s *actions.RunnerSetSpec) {
			for i := range MaxSchedules {
				s.Schedules = append(s.Schedules, actions.RunnerSetSchedule{Name: fmt.Sprintf("w%d", i), Start: "00:00", End: "01:00"})
			}
		},
		"scale up without burst": func(s *actions.RunnerSetSpec) { s.ScaleUp = &actions.ScaleUpPolicy{RunnersPerMinute: 1} },
		"scale up at the maximums": func(s *actions.RunnerSetSpec) {
			s.ScaleUp = &actions.ScaleUpPolicy{RunnersPerMinute: 100000, Burst: ptr.To[int32](100000)}
		},
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			rs := validRunnerSet()
			mutate(&rs.Spec)
			assert.Empty(t, ValidateRunnerSet(rs))
		})
	}
}

func TestScheduleAndScaleUpRules(t *testing.T) {
	type want struct {
		typ   field.ErrorType
		field string
	}
	window := func(mutate func(*actions.RunnerSetSchedule)) func(*actions.RunnerSetSpec) {
		return func(s *actions.RunnerSetSpec) {
			w := officeHours()
			mutate(&w)
			s.Schedules = []actions.RunnerSetSchedule{w}
		}
	}
	invalid := func(f string) []want { return []want{{field.ErrorTypeInvalid, f}} }
	cases := map[string]struct {
		mutate func(*actions.RunnerSetSpec)
		want   []want
	}{
		"too many schedules": {func(s *actions.RunnerSetSpec) {
			for i := range MaxSchedules + 1 {
				s.Schedules = append(s.Schedules, actions.RunnerSetSchedule{Name: fmt.Sprintf("w%d", i)})
			}
		}, []want{{field.ErrorTypeTooMany, "spec.schedules"}}},
		"no name":          {window(func(w *actions.RunnerSetSchedule) { w.Name = "" }), []want{{field.ErrorTypeRequired, "spec.schedules[0].name"}}},
		"name not a label": {window(func(w *actions.RunnerSetSchedule) { w.Name = "Office_Hours" }), invalid("spec.schedules[0].name")},
		"duplicate name": {func(s *actions.RunnerSetSpec) {
			s.Schedules = []actions.RunnerSetSchedule{officeHours(), officeHours(), officeHours()}
		}, []want{{field.ErrorTypeDuplicate, "spec.schedules[1].name"}, {field.ErrorTypeDuplicate, "spec.schedules[2].name"}}},
		"bad days": {window(func(w *actions.RunnerSetSchedule) { w.Days = []string{"Mon", "Monday", "Tu", "Fri"} }),
			[]want{{field.ErrorTypeInvalid, "spec.schedules[0].days[1]"}, {field.ErrorTypeInvalid, "spec.schedules[0].days[2]"}}},
		"duplicate day": {window(func(w *actions.RunnerSetSchedule) { w.Days = []string{"Mon", "Tue", "mon"} }),
			[]want{{field.ErrorTypeDuplicate, "spec.schedules[0].days[2]"}}},
		"no start":      {window(func(w *actions.RunnerSetSchedule) { w.Start = "" }), []want{{field.ErrorTypeRequired, "spec.schedules[0].start"}}},
		"no end":        {window(func(w *actions.RunnerSetSchedule) { w.End = "" }), []want{{field.ErrorTypeRequired, "spec.schedules[0].end"}}},
		"start 24:00":   {window(func(w *actions.RunnerSetSchedule) { w.Start = "24:00" }), invalid("spec.schedules[0].start")},
		"start 7:00":    {window(func(w *actions.RunnerSetSchedule) { w.Start = "7:00" }), invalid("spec.schedules[0].start")},
		"end 12:60":     {window(func(w *actions.RunnerSetSchedule) { w.End = "12:60" }), invalid("spec.schedules[0].end")},
		"end 8pm":       {window(func(w *actions.RunnerSetSchedule) { w.End = "8pm" }), invalid("spec.schedules[0].end")},
		"local zone":    {window(func(w *actions.RunnerSetSchedule) { w.TimeZone = "Local" }), invalid("spec.schedules[0].timeZone")},
		"unknown zone":  {window(func(w *actions.RunnerSetSchedule) { w.TimeZone = "Europe/Atlantis" }), invalid("spec.schedules[0].timeZone")},
		"negative min":  {window(func(w *actions.RunnerSetSchedule) { w.MinRunners = ptr.To[int32](-1) }), invalid("spec.schedules[0].minRunners")},
		"negative max":  {window(func(w *actions.RunnerSetSchedule) { w.MinRunners, w.MaxRunners = nil, ptr.To[int32](-1) }), invalid("spec.schedules[0].maxRunners")},
		"max below min": {window(func(w *actions.RunnerSetSchedule) { w.MaxRunners = ptr.To[int32](4) }), invalid("spec.schedules[0].maxRunners")},
		"no rate":       {func(s *actions.RunnerSetSpec) { s.ScaleUp = &actions.ScaleUpPolicy{} }, invalid("spec.scaleUp.runnersPerMinute")},
		"rate too high": {func(s *actions.RunnerSetSpec) { s.ScaleUp = &actions.ScaleUpPolicy{RunnersPerMinute: 100001} }, invalid("spec.scaleUp.runnersPerMinute")},
		"zero burst": {func(s *actions.RunnerSetSpec) {
			s.ScaleUp = &actions.ScaleUpPolicy{RunnersPerMinute: 10, Burst: ptr.To[int32](0)}
		}, invalid("spec.scaleUp.burst")},
		"burst too high": {func(s *actions.RunnerSetSpec) {
			s.ScaleUp = &actions.ScaleUpPolicy{RunnersPerMinute: 10, Burst: ptr.To[int32](100001)}
		}, invalid("spec.scaleUp.burst")},
		"everything wrong in one window": {window(func(w *actions.RunnerSetSchedule) {
			*w = actions.RunnerSetSchedule{Name: "-", Days: []string{"x"}, Start: "1", End: "2", TimeZone: "?", MinRunners: ptr.To[int32](-2), MaxRunners: ptr.To[int32](-3)}
		}), []want{
			{field.ErrorTypeInvalid, "spec.schedules[0].name"}, {field.ErrorTypeInvalid, "spec.schedules[0].days[0]"},
			{field.ErrorTypeInvalid, "spec.schedules[0].start"}, {field.ErrorTypeInvalid, "spec.schedules[0].end"},
			{field.ErrorTypeInvalid, "spec.schedules[0].timeZone"}, {field.ErrorTypeInvalid, "spec.schedules[0].minRunners"},
			{field.ErrorTypeInvalid, "spec.schedules[0].maxRunners"}, {field.ErrorTypeInvalid, "spec.schedules[0].maxRunners"},
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rs := validRunnerSet()
			tc.mutate(&rs.Spec)
			var got []want
			for _, e := range ValidateRunnerSet(rs) {
				got = append(got, want{e.Type, e.Field})
			}
			assert.Equal(t, tc.want, got, "errors: %v", ValidateRunnerSet(rs))
		})
	}
}

// TestScheduleMessagesSayWhatIsAccepted: a user who got a time or zone wrong learns the
// accepted forms from the error alone.
func TestScheduleMessagesSayWhatIsAccepted(t *testing.T) {
	rs := validRunnerSet()
	w := officeHours()
	w.Start, w.TimeZone = "7:00", "CEST"
	rs.Spec.Schedules = []actions.RunnerSetSchedule{w}
	errs := ValidateRunnerSet(rs)
	if assert.Len(t, errs, 2) {
		assert.Contains(t, errs[0].Error(), "HH:MM or HH:MM:SS")
		assert.Contains(t, errs[1].Error(), "IANA time zone name, such as Europe/Berlin")
	}
}
