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

package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	cliflag "k8s.io/component-base/cli/flag"
	_ "k8s.io/component-base/logs/json/register" // --logging-format=json

	"actions.dev/runnerset-apiserver/pkg/version"
)

// NewCommand returns the runnerset-apiserver command.
func NewCommand(ctx context.Context, o *Options) *cobra.Command {
	var printVersion bool
	cmd := &cobra.Command{
		Use:   "runnerset-apiserver",
		Short: "Serves runnersets.actions.dev and runners.actions.dev: GitHub Actions runner scale sets, kubectl-native",
		Long: `runnerset-apiserver is a Kubernetes aggregated API server. It stores RunnerSets in the
cluster as ConfigMaps (no etcd of its own) and is registered with an APIService for
v1alpha1.actions.dev. Authentication and authorization are delegated to the kube-apiserver.`,
		SilenceUsage: true,
		RunE: func(c *cobra.Command, args []string) error {
			if printVersion {
				fmt.Fprintln(c.OutOrStdout(), version.String())
				return nil
			}
			if len(args) != 0 {
				return fmt.Errorf("unexpected arguments: %q", args)
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	cmd.SetContext(ctx)
	fss := o.Flags()
	fss.FlagSet("generic").BoolVar(&printVersion, "version", false, "Print the version and exit.")
	for _, fs := range fss.FlagSets {
		cmd.Flags().AddFlagSet(fs)
	}
	cols := 100
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		fmt.Fprintf(c.OutOrStderr(), "Usage:\n  %s\n", c.UseLine())
		cliflag.PrintSections(c.OutOrStderr(), fss, cols)
		return nil
	})
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		fmt.Fprintf(c.OutOrStdout(), "%s\n\nUsage:\n  %s\n", c.Long, c.UseLine())
		cliflag.PrintSections(c.OutOrStdout(), fss, cols)
	})
	return cmd
}
