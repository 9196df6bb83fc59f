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

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/schedule"
)

// MaxSchedules bounds spec.schedules: the scaler evaluates every window on each reconcile.
const MaxSchedules = 20

// MaxScaleUpRunners bounds scaleUp's rate and burst, far above what GitHub lets a scale set do.
const MaxScaleUpRunners = 100000

const clockForms = "must be HH:MM or HH:MM:SS (24-hour, two digits each), from 00:00 to 23:59:59"

// validateSchedules checks the windows with the parsers the scaler uses, so that a stored
// schedule always parses there.
func validateSchedules(schedules []actions.RunnerSetSchedule, p *field.Path) field.ErrorList {
	if len(schedules) > MaxSchedules {
		// Checking each entry of a list refused anyway would only bury this error.
		return field.ErrorList{field.TooMany(p, len(schedules), MaxSchedules)}
	}
	var allErrs field.ErrorList
	names := map[string]bool{}
	for i := range schedules {
		s, sp := &schedules[i], p.Index(i)
		switch {
		case s.Name == "":
			allErrs = append(allErrs, field.Required(sp.Child("name"), "a name for the window, shown in the status and events"))
		case names[s.Name]:
			allErrs = append(allErrs, field.Duplicate(sp.Child("name"), s.Name))
		default:
			for _, msg := range utilvalidation.IsDNS1123Label(s.Name) {
				allErrs = append(allErrs, field.Invalid(sp.Child("name"), s.Name, msg))
			}
		}
		names[s.Name] = true
		allErrs = append(allErrs, validateScheduleDays(s.Days, sp.Child("days"))...)
		allErrs = append(allErrs, validateClock(s.Start, sp.Child("start"))...)
		allErrs = append(allErrs, validateClock(s.End, sp.Child("end"))...)
		if _, err := schedule.LoadLocation(s.TimeZone); err != nil {
			allErrs = append(allErrs, field.Invalid(sp.Child("timeZone"), s.TimeZone,
				"must be an IANA time zone name, such as Europe/Berlin, or empty for UTC"))
		}
		allErrs = append(allErrs, validateScheduleRunners(s, sp)...)
	}
	return allErrs
}

// validateScheduleDays reports every bad and repeated day, not just the first that
// schedule.ParseDays stops at: each entry is parsed on its own and repeats are tracked here.
func validateScheduleDays(days []string, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	var seen [7]bool
	for j, d := range days {
		mask, _, err := schedule.ParseDays([]string{d})
		if err != nil {
			allErrs = append(allErrs, field.Invalid(p.Index(j), d, "must be Mon, Tue, Wed, Thu, Fri, Sat or Sun"))
			continue
		}
		for wd := range mask {
			if mask[wd] && seen[wd] {
				allErrs = append(allErrs, field.Duplicate(p.Index(j), d))
			}
			seen[wd] = seen[wd] || mask[wd]
		}
	}
	return allErrs
}

func validateClock(s string, p *field.Path) field.ErrorList {
	if s == "" {
		return field.ErrorList{field.Required(p, "HH:MM or HH:MM:SS, such as 08:00")}
	}
	if _, err := schedule.ParseClock(s); err != nil {
		return field.ErrorList{field.Invalid(p, s, clockForms)}
	}
	return nil
}

func validateScheduleRunners(s *actions.RunnerSetSchedule, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if s.MinRunners != nil {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(*s.MinRunners), p.Child("minRunners"))...)
	}
	if s.MaxRunners != nil {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(*s.MaxRunners), p.Child("maxRunners"))...)
		if s.MinRunners != nil && *s.MaxRunners < *s.MinRunners {
			allErrs = append(allErrs, field.Invalid(p.Child("maxRunners"), *s.MaxRunners,
				fmt.Sprintf("must be greater than or equal to the window's minRunners (%d)", *s.MinRunners)))
		}
	}
	return allErrs
}

// validateScaleUp checks the rate. Burst is defaulted to the rate in v1alpha1, but an internal
// object built directly may leave it nil.
func validateScaleUp(u *actions.ScaleUpPolicy, p *field.Path) field.ErrorList {
	if u == nil {
		return nil
	}
	var allErrs field.ErrorList
	if u.RunnersPerMinute < 1 || u.RunnersPerMinute > MaxScaleUpRunners {
		allErrs = append(allErrs, field.Invalid(p.Child("runnersPerMinute"), u.RunnersPerMinute,
			fmt.Sprintf("must be between 1 and %d", MaxScaleUpRunners)))
	}
	if b := u.Burst; b != nil && (*b < 1 || *b > MaxScaleUpRunners) {
		allErrs = append(allErrs, field.Invalid(p.Child("burst"), *b,
			fmt.Sprintf("must be between 1 and %d", MaxScaleUpRunners)))
	}
	return allErrs
}
