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

/*
Package simulator is a stateful simulator of GitHub's REST API and the GitHub Actions Service,
speaking the real wire protocol of runner scale sets over HTTP, for tests and for the local
system. The protocol is described in the project's reference actions-protocol.md; this
comment is the contract between the simulator, the Actions client and the scaler.

# Serving

	sim := simulator.New(t, simulator.Options{LongPollHold: 500 * time.Millisecond})
	url := sim.ConfigURL("acme/app") // http://127.0.0.1:PORT/acme/app: a repository config URL

The simulator listens on loopback only. To a client, http://127.0.0.1:PORT is GitHub
Enterprise Server: config URLs are URL()+"/<org>", "/<org>/<repo>" or "/enterprises/<ent>",
GitHub REST is under /api/v3 (the github.com forms without /api/v3 are served too), and the
Actions Service tenant a registration hands out is URL()+"/tenant/<n>/".

# GitHub REST

  - POST /app/installations/{id}/access_tokens: 201 {"token":"ghs_…","expires_at"}. The
    Bearer App JWT must be RS256-signed by a configured App (issuer: App ID, as string or
    number, or Client ID), not expired (60 s leeway), at most 10 minutes long.
  - POST /repos/{o}/{r}, /orgs/{o}, /enterprises/{e} + /actions/runners/registration-token:
    201 {"token","expires_at"} (one hour). Installation tokens get 403 at enterprise scope.
  - GET the same three + /actions/runners: {"total_count","runners":[{"id","name","os",
    "status":"online|offline","busy","labels":[{"id","name","type"}]}]}, the runners of
    scale sets registered at exactly that scope; per_page (max 100)/page with a Link header;
    an ETag, and 304 Not Modified for a matching If-None-Match.
  - POST /actions/runner-registration with "Authorization: RemoteAuth <registration token>"
    and {"url":<config url>,"runner_event":"register"}: 201 {"url":"<sim>/tenant/<n>/",
    "token":"<admin JWT>","token_schema","use_v2_flow"}. The config URL must name the
    token's scope (403 otherwise, 422 for a URL that names nothing). One tenant per scope.

REST calls authenticate with "Bearer" or "token" and a PAT (Options.PATs) or an installation
token; anything else is 401 {"message":"Bad credentials","documentation_url":…}. Each
credential has Options.RESTRateLimit requests an hour (X-RateLimit-* headers; 403 when spent);
a 304 is free.

# Actions Service (relative to the tenant URL)

Admin calls need "Authorization: Bearer <admin token>" of this tenant (401 otherwise, also
once it expired on the simulator's clock) and api-version=6.0-preview (400 otherwise).
Errors are {"typeName","message"} (plus the $id/typeKey/errorCode/eventId fields .NET adds),
the type name assembly-qualified as the service writes it
("GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException,
GitHub.Actions.Runtime.WebApi") and typeKey its class name; every answer has an ActivityId
header.

A path with "//" (or "/./", "/../") is served at its cleaned path, as GitHub answers such
paths itself, not redirected.

  - GET _apis/runtime/runnergroups/?groupName=N: {"count","value":[RunnerGroup]}; group 1 is
    "Default" (AddRunnerGroup adds more, visible to every tenant).
  - GET _apis/runtime/runnerscalesets?runnerGroupId=&name=: {"count","value"}.
  - POST _apis/runtime/runnerscalesets: 200 with the created set. No labels: the name is the
    label; label type defaults to "System". A name taken in the tenant's group: 409.
  - GET/PATCH/DELETE _apis/runtime/runnerscalesets/{id}: 200/200/204; 404
    RunnerScaleSetNotFoundException for a set of another tenant or a gone one. PATCH takes
    sparse bodies ("RunnerSetting":{} changes nothing). DELETE is 400
    JobStillRunningException while one of its runners runs a job.
  - POST …/{id}/sessions: 200 Session with messageQueueUrl, messageQueueAccessToken and
    statistics. One session per scale set: 409 RunnerScaleSetSessionConflictException.
    PATCH …/sessions/{sid}: a new queue token (404 RunnerAdminException "runner referenced a
    session ID that doesn't exist in redis" for another id).
    DELETE …/sessions/{sid}: 204 (400 RunnerScaleSetSessionExpiredException for another id).
    A session none of whose calls (create, refresh, poll, acknowledge, acquire) came for
    SessionIdleTimeout (default 4 minutes; a held poll counts as in use) expires, as the
    service expires the session of a listener that died without deleting it: a new session
    is created instead of a 409, and the old id is unknown (refresh 404, delete 400, its
    queue token 401).
  - GET <messageQueueUrl>[&lastMessageId=n] with the queue token and X-ScaleSetMaxCapacity:
    200 with the first undeleted message whose id is above lastMessageId, as soon as there is
    one; else 202 after LongPollHold. 401 for an expired, refreshed-away or foreign token,
    404 RunnerScaleSetNotFoundException when the scale set is gone.
  - DELETE <messageQueueUrl path>/{messageId}?<its query>: 204. Undeleted messages are
    delivered again.
  - POST …/{id}/acquirejobs (queue token) with [ids]: 200 {"count","value":[acquired ids]}.
  - GET …/{id}/acquirablejobs: 200 {"count","value"} or 204 (legacy listener).
  - POST …/{id}/generatejitconfig {"name","workFolder"}: 200 {"runner":{"id","name",
    "runnerScaleSetId"},"encodedJITConfig"}; 409 AgentExistsException when the name is taken
    in the tenant. The config is base64 of a JSON object of base64 runner files (.runner,
    .credentials, .credentials_rsaparams) with random credentials.
  - GET _apis/distributedtask/pools/0/agents/{id} (404 AgentNotFoundException),
    GET …/agents?agentName=N, DELETE …/agents/{id}: 204, also for a missing id; 400
    JobStillRunningException while the runner runs a job.

Messages have ids from 100000001 up, messageType "RunnerScaleSetJobMessages", a body that is a
JSON array encoded as a string with at most 50 job messages, and the statistics of the moment
they are delivered. A job message goes into the newest message while that was not delivered
yet and has room.

# Job model

A queued job (QueueJob) is visible to scale sets whose tenant scope sees it (a repository its
own jobs, an organization its repositories', an enterprise all) and whose labels include all
of the job's labels. It is offered (JobAvailable) to each such set with a session: at once, when
a session starts, after a requeue, and again every ReofferAfter while nobody acquired it.
acquirejobs takes it for one set; it is assigned (JobAssigned) while the set has fewer
assigned-or-running jobs than its last X-ScaleSetMaxCapacity, else it waits as "acquired"
until a job of the set ends. A runner of the set takes it (JobStarted, with runnerId and
runnerName) and completes it (JobCompleted with result); the ephemeral runner is then
deregistered. An assigned job that no runner starts within AssignTimeout gets JobCompleted
"canceled" and is queued again, at most MaxRequeues (3) times, then canceled for good.

Statistics are computed from this state whenever they are sent: totalAvailableJobs (queued and
matching), totalAcquiredJobs (acquired, waiting for capacity), totalAssignedJobs (assigned or
running, so >= totalRunningJobs), totalRunningJobs, totalRegisteredRunners, totalBusyRunners
(= running jobs) and totalIdleRunners (registered minus busy).

# Runner side

The runner emulator plays the runner process with ConnectRunnerVersion (the runner comes
online with its JIT config, reporting its version), AcquireRunnerJob, CompleteRunnerJob and
DisconnectRunner. A runner older than Options.MinRunnerVersion (default 2.329.0, GitHub's
minimum since 2026-09-25) is refused with a *RunnerVersionError ("Runner version v2.328.0 is
deprecated and cannot receive messages. ..."), its registration left offline; the runner
prints it and exits 7 under ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1.
ConnectRunner reports no version and is not checked. The same methods exist on ControlClient,
which drives a simulator in another process.

# Control API (/_sim/, JSON; durations as "90s" or a number of seconds)

	POST   /_sim/jobs                      {"labels":["linux"],"owner":"acme","repository":"app","duration":"30s","count":5}
	GET    /_sim/jobs[?state=queued]       GET /_sim/jobs/{id}
	POST   /_sim/faults                    {"endpoint":"GetMessage","status":503,"retryAfter":"2s","count":3}
	GET    /_sim/faults                    DELETE /_sim/faults/{id}
	POST   /_sim/scalesets/{id}/vanish     DELETE /_sim/scalesets/{id}/session
	POST   /_sim/queue-tokens/expire
	GET    /_sim/counters                  DELETE /_sim/counters
	GET    /_sim/scalesets                 GET /_sim/sessions
	POST   /_sim/runnergroups              {"name":"gpu"}
	GET    /_sim/settings                  PATCH /_sim/settings {"sessionIdleTimeout":"30s","minRunnerVersion":"2.331.0"}
	GET    /_sim/runners
	POST   /_sim/runners/connect           {"encodedJITConfig":"…","version":"2.330.0"}  403 when too old
	POST   /_sim/runners/{id}/acquire      200 JobStatus, or 204 when there is no job
	POST   /_sim/runners/{id}/complete     {"result":"succeeded"}
	POST   /_sim/runners/{id}/disconnect

# Faults and counters

A Fault matches an endpoint name (the EP* constants, or "*") and optionally one scale set, hits
with a seeded probability or always, and for Count requests or until removed. It can delay the
answer, answer a status (with an error body in the endpoint's style and Retry-After), answer
an empty body, or answer a body given verbatim (a malformed, truncated or oversized message).
Counters count every request per endpoint name and per scale set id, and the requests a fault
answered.

# Outages

StartOutage takes the simulator off the network: it stops listening (connections are refused)
and drops every open connection, keeping all its state; EndOutage listens again on the same
address. GitHub's side of a real outage, for clients that must survive one.

# Time

Options.Clock (k8s.io/utils/clock) drives token expiry, AssignTimeout, ReofferAfter,
SessionIdleTimeout and every timestamp, so a fake clock's Step drives them in tests. The long-poll hold and Fault.Delay are
wall-clock time: they pace the transport.
*/
package simulator
