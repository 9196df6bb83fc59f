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

// Command apiserver serves the actions.dev API group as a Kubernetes aggregated API server.
package main

import (
	"os"
	// The zone database, for spec.schedules[].timeZone: the image may have no /usr/share/zoneinfo.
	_ "time/tzdata"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/cli"
	// client-go's request, latency and rate-limiter metrics on /metrics: how much of the
	// --kube-api-qps budget the server uses and how long its requests wait for it.
	_ "k8s.io/component-base/metrics/prometheus/restclient"

	"actions.dev/runnerset-apiserver/cmd/apiserver/app"
)

func main() {
	ctx := genericapiserver.SetupSignalContext()
	cmd := app.NewCommand(ctx, app.NewOptions())
	os.Exit(cli.Run(cmd))
}
