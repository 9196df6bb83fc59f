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

// Package app is the runnerset-apiserver command: options -> config -> complete -> run.
package app

import (
	"context"
	"fmt"
	"net"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/kubernetes"
	basecompatibility "k8s.io/component-base/compatibility"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	baseversion "k8s.io/component-base/version"
	netutils "k8s.io/utils/net"

	"actions.dev/runnerset-apiserver/pkg/apiserver"
	generatedopenapi "actions.dev/runnerset-apiserver/pkg/generated/openapi"
)

// Options are the command's flags. The generic server's recommended options are used without
// etcd: RunnerSets live in the cluster as ConfigMaps.
type Options struct {
	RecommendedOptions *genericoptions.RecommendedOptions
	Logs               *logs.Options

	// ClientQPS and ClientBurst bound this server's own requests to the kube-apiserver.
	ClientQPS   float32
	ClientBurst int
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	ro := genericoptions.NewRecommendedOptions("", apiserver.StorageCodec())
	ro.Etcd = nil
	return &Options{RecommendedOptions: ro, Logs: logs.NewOptions(), ClientQPS: 50, ClientBurst: 100}
}

// Flags groups the flags into named sections for --help.
func (o *Options) Flags() cliflag.NamedFlagSets {
	var fss cliflag.NamedFlagSets
	o.RecommendedOptions.SecureServing.AddFlags(fss.FlagSet("secure serving"))
	o.RecommendedOptions.Authentication.AddFlags(fss.FlagSet("authentication"))
	o.RecommendedOptions.Authorization.AddFlags(fss.FlagSet("authorization"))
	o.RecommendedOptions.Audit.AddFlags(fss.FlagSet("auditing"))
	o.RecommendedOptions.Features.AddFlags(fss.FlagSet("features"))
	o.RecommendedOptions.CoreAPI.AddFlags(fss.FlagSet("cluster"))
	o.RecommendedOptions.Admission.AddFlags(fss.FlagSet("admission"))
	logsapi.AddFlags(o.Logs, fss.FlagSet("logging"))
	c := fss.FlagSet("cluster")
	c.Float32Var(&o.ClientQPS, "kube-api-qps", o.ClientQPS, "Queries per second this server sends to the kube-apiserver.")
	c.IntVar(&o.ClientBurst, "kube-api-burst", o.ClientBurst, "Burst of requests this server sends to the kube-apiserver.")
	return fss
}

// Validate checks the options.
func (o *Options) Validate() error {
	errs := o.RecommendedOptions.Validate()
	errs = append(errs, logsapi.ValidateAndApply(o.Logs, nil))
	if o.ClientQPS <= 0 || o.ClientBurst <= 0 {
		errs = append(errs, fmt.Errorf("--kube-api-qps and --kube-api-burst must be positive"))
	}
	return utilerrors.NewAggregate(errs)
}

// Config turns the options into a server configuration.
func (o *Options) Config() (*apiserver.Config, error) {
	if err := o.RecommendedOptions.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating self-signed certificates: %w", err)
	}
	serverConfig := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	serverConfig.EffectiveVersion = basecompatibility.NewEffectiveVersionFromString(baseversion.DefaultKubeBinaryVersion, "", "")

	namer := openapi.NewDefinitionNamer(apiserver.Scheme)
	serverConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIConfig.Info.Title = "runnerset-apiserver"
	serverConfig.OpenAPIConfig.Info.Version = "v1alpha1"
	serverConfig.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIV3Config.Info.Title = "runnerset-apiserver"
	serverConfig.OpenAPIV3Config.Info.Version = "v1alpha1"

	if err := o.RecommendedOptions.ApplyTo(serverConfig); err != nil {
		return nil, err
	}
	if serverConfig.ClientConfig == nil {
		return nil, fmt.Errorf("no cluster to store RunnerSets in: give --kubeconfig or run in a cluster")
	}
	clientConfig := *serverConfig.ClientConfig
	clientConfig.QPS, clientConfig.Burst = o.ClientQPS, o.ClientBurst
	kubeClient, err := kubernetes.NewForConfig(&clientConfig)
	if err != nil {
		return nil, err
	}
	return &apiserver.Config{
		GenericConfig: serverConfig,
		ExtraConfig:   apiserver.ExtraConfig{KubeClient: kubeClient},
	}, nil
}

// Run starts the server and blocks until ctx ends.
func (o *Options) Run(ctx context.Context) error {
	config, err := o.Config()
	if err != nil {
		return err
	}
	server, err := config.Complete().New()
	if err != nil {
		return err
	}
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}
