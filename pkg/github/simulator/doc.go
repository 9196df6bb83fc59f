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

# Wire types

The simulator speaks its own wire types (wire.go: RunnerScaleSet, Session, Message,
JobMessage, Statistics, RunnerGroup, JITConfig, List, RunnerRegistration ...), written from
the reference, and parses config URLs and runner versions itself: it imports neither the
Actions client (package actions) nor package configurl, so a field the client misnames fails
against it instead of being wrong on both sides. The reference's payloads are golden files in
testdata/wire; the simulator's tests pin its types to them (lossless round trip, and its
answers carry exactly their fields), the client's tests pin the client's structs (decoded
values, request bodies sent). Its public API (ScaleSets, Sessions, Statistics,
AddRunnerGroup, and ControlClient's) returns these types.

# Serving

Tests start a simulator with package simtest, which closes it when the test ends (package
simulator does not import package testing, so cmd/github-simulator does not link it):

	sim := simtest.New(t, simulator.Options{LongPollHold: 500 * time.Millisecond})
	url := sim.ConfigURL("acme/app") // http://127.0.0.1:PORT/acme/app: a repository config URL

The simulator listens on loopback only (every address: it has no authentication of its
control API). To a client, URL() is GitHub Enterprise Server: config URLs are URL()+"/<org>",
"/<org>/<repo>" or "/enterprises/<ent>", GitHub REST is under /api/v3 (the github.com forms
without /api/v3 are served too), and the Actions Service tenant a registration hands out is
<service origin>/tenant/<n>/. The zero Options serve plain HTTP on one address, which is then
every origin; the control API is on URL() only.

Options.TLS serves HTTPS, as GitHub does: Start makes a CA (ECDSA P-256, CACommonName, a
year) and a serving certificate signed by it for 127.0.0.1, 127.0.0.2, 127.0.0.3, ::1, every
address listened on, localhost, github.com, api.github.com and *.actions.githubusercontent.com.
Clients trust CACertPEM (the command writes it to --ca-file); one that does not fails the
handshake at once. HTTP/2 is offered.

Options.SeparateHosts serves, as github.com does, REST and the control API on Listen
(127.0.0.1:0), the Actions Service on ServiceListen (127.0.0.2:0) and the broker on
BrokerListen (127.0.0.3:0). Each host answers only its own calls (anything else is a 404):
the broker the messageQueueUrl's get and delete message, the Actions Service every other
tenant URL call, acquirejobs included. runner-registration hands out the tenant URL on the
service host, the session its messageQueueUrl on the broker (<broker>/tenant/<n>/…/messages),
JIT configs carry the tenant URL: a client sending a call anywhere else fails. Hosts() lists
every "host:port" (for allowlists and no_proxy); outages take all of them off the network.

The github.com form:

	sim := simtest.New(t, simulator.Options{TLS: true, SeparateHosts: true})
	proxy, err := simproxy.Start(simproxy.Options{Resolve: sim.ResolveMap()})
	// the client: config URL https://github.com/acme/app, proxy proxy.URL(), CA sim.CACertPEM()

A client configured with https://github.com/acme/app derives
https://api.github.com (package configurl) and then goes wherever the URLs handed to it say.
Those names cannot resolve to loopback here (no DNS control, no /etc/hosts), but a client's
proxy resolves the names it is asked for, and clients already support proxies: package
simproxy is a proxy that maps the names of ResolveMap (github.com and api.github.com to the
REST listener, pipelines.actions.githubusercontent.com to the Actions Service,
broker.actions.githubusercontent.com to the broker; port 443 with TLS, 80 without) to the
listeners, tunnels CONNECT byte for byte (TLS stays end to end, verified against the names
above) and dials nothing but loopback. URLs in an answer name the origin the request came
by: to a request whose Host is one of GitHub's names the tenant URL, messageQueueUrl,
runnerJitConfigUrl, JIT config URLs and Link headers name GitHub's hosts (without a port);
to one that came by address, the listeners' addresses. acquireJobUrl in messages, made
before anyone asks, always names the service listener's address (clients build the
acquirejobs URL from the tenant URL).

# GitHub REST

  - POST /app/installations/{id}/access_tokens: 201 {"token":"ghs_…","expires_at",
    "permissions","repository_selection"}. The Bearer App JWT must be RS256-signed by a
    configured App (issuer: App ID, as string or number, or Client ID), not expired (60 s
    leeway), at most 10 minutes long. 404 for an installation that does not exist or is
    another App's.
  - GET /app/installations/{id} (App JWT): 200 {"id","account":{"login","id","type":
    "Organization"},"repository_selection","app_id","client_id","target_id","target_type",
    "permissions","events","suspended_at"}; 404 as above. The installation App.InstallationID
    stands for is on every account: its account login is "".
  - GET /installation/repositories (installation token): 200 {"total_count",
    "repository_selection","repositories":[{"id","name","full_name","private","owner":
    {"login","id","type"}}]}, the declared repositories the installation sees, by id;
    per_page/page with a Link header. A PAT gets 403 "You must authenticate with an
    installation access token in order to list repositories for an installation." (our
    wording).
  - POST /repos/{o}/{r}, /orgs/{o}, /enterprises/{e} + /actions/runners/registration-token:
    201 {"token","expires_at"} (one hour).
  - GET the same three + /actions/runners: {"total_count","runners":[{"id","name","os",
    "status":"online|offline","busy","labels":[{"id","name","type"}]}]}, the runners of
    scale sets registered at exactly that scope; per_page (max 100)/page with a Link header;
    an ETag, and 304 Not Modified for a matching If-None-Match.
  - POST /actions/runner-registration with "Authorization: RemoteAuth <registration token>"
    and {"url":<config url>,"runner_event":"register"}: 201 {"url":"<sim>/tenant/<n>/",
    "token":"<admin JWT>","token_schema","use_v2_flow"}. 404 {"message":"Not Found",
    "documentation_url":"https://docs.github.com/rest"} when the URL names an account that
    does not exist (as the runner has logged it from GitHub), 403 when it names another scope
    than the token's, 422 for a URL that names nothing. One tenant per scope.
  - GET /repos/{o}/{r}/actions/jobs/{job_id}: the workflow job (see Workflow runs below):
    {"id","run_id","run_url","run_attempt","url","html_url","check_run_url","status",
    "conclusion","created_at","started_at","completed_at","name","steps","labels","runner_id",
    "runner_name","runner_group_id","runner_group_name","workflow_name","head_branch"}; 404
    for a job of another repository.
  - GET /repos/{o}/{r}/actions/runs/{run_id}: {"id","name","head_branch","path","run_number",
    "run_attempt","event","status","conclusion","url","html_url","jobs_url","rerun_url",
    "created_at","updated_at","run_started_at"}.
  - GET /repos/{o}/{r}/actions/runs/{run_id}/jobs[?filter=latest|all]: {"total_count","jobs"},
    the newest attempt of each job (latest, the default) or every attempt; per_page/page with
    a Link header.
  - POST /repos/{o}/{r}/actions/jobs/{job_id}/rerun [{"enable_debug_logging":…}]: 201 {}.

REST calls authenticate with "Bearer" or "token" and a personal access token (Options.PATs,
Options.Tokens) or an installation token; anything else is 401 {"message":"Bad credentials",
"documentation_url":…}, no token at all 401 "Requires authentication". Errors are
{"message","documentation_url","status"}. A call is then decided in GitHub's order: rate
limits (403), the account (404), the credential's scopes or permissions (403, or 404 for what
an installation cannot see).

# Who may do what

Accounts exist only when declared: Options.Accounts ("acme", "acme/app", "enterprises/big"),
DeclareAccount, POST /_sim/accounts, and ConfigURL, which declares the account it returns a
URL for (a test asking for a config URL means it to exist; a test of a typo builds the URL
by hand). A repository declares its owner organization; removing an organization removes its
repositories. Names compare case-insensitively. Every runner endpoint and
runner-registration answer 404 {"message":"Not Found","documentation_url":
"https://docs.github.com/rest"} for an account that does not exist, whoever asks.
Options.AnyAccount (and the "anyAccount" setting) makes every account exist, for a simulator
people type URLs at: cmd/github-simulator's default, --any-account=false for strictness.

Classic tokens (Options.PATs have FullScopes: repo, admin:org, manage_runners:enterprise,
whatever their value; Options.Tokens what they list) get X-OAuth-Scopes (the token's scopes, sorted, ", "
separated) and X-Accepted-OAuth-Scopes (what the endpoint accepts) on every answer after
authentication, errors included. Repository runners accept repo; organization runners
admin:org; enterprise runners manage_runners:enterprise or admin:enterprise, which includes
it. A token without them gets 403 "Must have admin rights to Repository.", with the
endpoint's documentation_url (e.g. https://docs.github.com/rest/actions/self-hosted-runners#
create-a-registration-token-for-an-organization). GitHub gives that message for organization
endpoints too (ARC issues #229 and #1716 quote it for /orgs/{org}/…/registration-token); for
enterprise endpoints the simulator says the same, which is our inference.

Fine-grained tokens (Token.FineGrained, or a value starting github_pat_) carry no
X-OAuth-Scopes. They need the permission administration (repository runners) or
organization_self_hosted_runners (organization runners), at write level to create a
registration token and read level to list runners (GitHub's REST documentation; ARC's
documentation also asks Administration: read of organization tokens, which these endpoints
do not check). Without it, and always at enterprise scope (fine-grained tokens cannot manage
enterprise runners): 403 "Resource not accessible by personal access token". A token's
resource owner and repository selection are not modelled.

App installations (App.Installations, Install, POST /_sim/installations) are on one
organization each, on all its repositories or the selected ones, with permissions (nil:
DefaultInstallationPermissions, what ARC asks: administration write, metadata read,
organization_self_hosted_runners write). App.InstallationID stands for an installation on
every account, all repositories, those permissions, as before installations were named. An
installation token acting outside its installation (another organization, a repository not
selected) gets 404 Not Found: GitHub does not reveal what it hides from an installation.
Inside it without the permission the scope needs (the same as a fine-grained token's), and at
enterprise scope always: 403 "Resource not accessible by integration". Tokens follow their
installation as it is now: a replaced installation changes what they may do at once, a
removed one makes them 401 Bad credentials. Installing declares the account and selected
repositories (an App is only installed on what exists).

The workflow run and job endpoints ask what GitHub's REST documentation says: classic tokens
repo (the simulator's repositories are private: without repo a token sees none of them, 404 Not
Found, as GitHub hides a private repository), fine-grained tokens and installations the
permission actions, read to read and write to re-run (403 "Resource not accessible by personal
access token" / "by integration" without it). DefaultInstallationPermissions (what ARC asks)
has no actions: a server that re-runs jobs with an App must ask for actions write.

Tokens, accounts and installations change at run time (control API below), so that a test
can break a credential, fix it, and watch its client recover.

# Rate limits

Every answer to an authenticated REST call carries X-RateLimit-Limit, -Remaining, -Used,
-Reset (epoch seconds) and -Resource ("core"). Each personal access token has
Options.RESTRateLimit (default 5000) requests a window of an hour from its first request;
an installation's tokens share one budget, as on GitHub. A 304 is free. Spent: 403
{"message":"API rate limit exceeded for user ID <n>." (or "installation ID <id>."),
"documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}
with X-RateLimit-Remaining: 0 and the reset, which go-github reads as a RateLimitError.
GitHub sometimes answers 429 instead; the simulator always answers 403. The
actions_runner_registration resource GitHub lists is not modelled: every call is "core".

Options.RESTSecondaryLimit (0: off) is the secondary limit: at most that many REST requests
per credential in a window of a minute from its first request; beyond it 403 with
Retry-After (seconds to the window's end) and {"message":"You have exceeded a secondary rate
limit. Please wait a few minutes before you try again.","documentation_url":…#secondary-rate-limits},
which go-github reads as an AbuseRateLimitError. A refused request spends no budget.

Options.JITConfigRate (0: off) limits generatejitconfig to that many calls per tenant (one
registration scope) in a window of a minute: beyond it 429 with Retry-After and the envelope
typeName "Microsoft.TeamFoundation.Framework.Server.RequestBlockedException,
Microsoft.TeamFoundation.Framework.Server", message "TF400733: The request has been canceled:
Request was blocked due to exceeding usage of resource …", as Azure DevOps, whose code the
service shares, throttles (our inference: the reference has no example). Per tenant, not per
scale set: throttling follows the caller's identity, and a tenant's scale sets share one
admin identity, so a scaler creating many runners across sets meets one limit.

RESTRateLimit, RESTSecondaryLimit, JITConfigRate and AnyAccount change at run time through
/_sim/settings; POST /_sim/ratelimit sets what is left of a credential's budget and when it
resets, e.g. spends it at once.

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
    in the tenant; 429 RequestBlockedException with Retry-After over Options.JITConfigRate. The config is base64 of a JSON object of base64 runner files (.runner,
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

A runner that goes away mid-job without completing it (DisconnectRunner: its process killed,
its pod deleted or evicted, its node lost) tells GitHub nothing; GitHub learns it when the
runner's job lock, which a live runner renews every minute for ten, lapses. The job stays
running on its offline runner (counted as running and busy; the runner cannot be removed:
400 JobStillRunningException) for Options.RunnerLostTimeout (default 10 minutes, the lock
window; the "runnerLostTimeout" setting changes it at run time), then fails: result
"failed" (REST conclusion "failure", GitHub's "The self-hosted runner: … lost communication
with the server"), JobCompleted to its scale set as for any completion, the runner idle and
offline. A runner that connects again before then keeps its job. JobStatus.LostRunner (and
RunnerLostAt) tells tests which failures these were: GitHub does not, and a server must not
read it; the counters count them (lostRunners).

Statistics are computed from this state whenever they are sent: totalAvailableJobs (queued and
matching), totalAcquiredJobs (acquired, waiting for capacity), totalAssignedJobs (assigned or
running, so >= totalRunningJobs), totalRunningJobs, totalRegisteredRunners, totalBusyRunners
(= running jobs) and totalIdleRunners (registered minus busy).

# Workflow runs and re-runs

Every job belongs to a workflow run (JobStatus.WorkflowRunID, the messages' workflowRunId, REST's
run_id; ids from 7000001) and to one attempt of it (JobStatus.RunAttempt, from 1): QueueJob
makes a run per job, or puts the job in the run Job.WorkflowRunID names (several jobs of one
run). A job has a REST job id too (JobStatus.RESTJobID, from 40000000001), GitHub's workflow
job id, which is its check run id (check_run_url names it; the runner's job.check_run_id).

The scale set's messages do not carry the REST job id, and the simulator adds no field GitHub
does not send: runnerRequestId is the Actions Service's job request id and jobId is a GUID
string (JobStatus.JobGUID), neither of which REST shows. A server goes from a message to the
REST job through the run: GET …/actions/runs/{workflowRunId}/jobs (ownerName, repositoryName
of the message) and the job whose runner_name is the message's runnerName (set from JobStarted
on; runner_id is its runnerId), or whose name is its jobDisplayName while no runner took it.

POST …/actions/jobs/{job_id}/rerun re-runs a job: a new attempt of its run (run_attempt + 1)
with a new job of the same Job (labels, duration, result; new request id, REST job id and
GUID; JobStatus.RerunOf and the old job's RerunAs link them), queued and offered
(JobAvailable) like any job; the old job stays completed. workflow_name is Job.WorkflowName,
else the workflow file's path, head_branch the branch or tag of Job.WorkflowRef. GitHub re-runs only runs that concluded: while any job of the run (the job itself
included) is not completed, 403 "This workflow is already running", the refusal GitHub gives
(GAG meets it re-running a run whose killed runner's lock has not lapsed). A run is queued
while its newest jobs wait, in_progress while one runs, completed when all are, with the
conclusion failure if one failed, else cancelled if one was, else success. Not modelled:
re-runs of dependent jobs, the 30-day limit, the attempts endpoint
(…/runs/{run_id}/attempts/{n}/jobs), head_sha.

# Runner side

The runner emulator plays the runner process with ConnectRunnerVersion (the runner comes
online with its JIT config, reporting its version), AcquireRunnerJob, CompleteRunnerJob and
DisconnectRunner. A runner older than Options.MinRunnerVersion (default 2.329.0, GitHub's
minimum since 2026-09-25) is refused with a *RunnerVersionError ("Runner version v2.328.0 is
deprecated and cannot receive messages. ..."), its registration left offline; the runner
prints it and exits 7 under ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1.
ConnectRunner reports no version and is not checked. DisconnectRunner is a runner process
ending without completing its job (see the job model: its job fails RunnerLostTimeout later).
The same methods exist on ControlClient, which drives a simulator in another process.

# Control API (/_sim/, JSON; durations as "90s" or a number of seconds)

	POST   /_sim/jobs                      {"labels":["linux"],"owner":"acme","repository":"app","duration":"30s","count":5}
	GET    /_sim/jobs[?state=queued]       GET /_sim/jobs/{id}
	GET    /_sim/jobs/{id}/attempts        every attempt of the job, first to last
	POST   /_sim/faults                    {"endpoint":"GetMessage","status":503,"retryAfter":"2s","count":3}
	GET    /_sim/faults                    DELETE /_sim/faults/{id}
	POST   /_sim/scalesets/{id}/vanish     DELETE /_sim/scalesets/{id}/session
	POST   /_sim/queue-tokens/expire
	GET    /_sim/counters                  DELETE /_sim/counters
	GET    /_sim/scalesets                 GET /_sim/sessions
	POST   /_sim/runnergroups              {"name":"gpu"}
	GET    /_sim/settings                  PATCH /_sim/settings {"sessionIdleTimeout":"30s","minRunnerVersion":"2.331.0",
	                                         "restRateLimit":5000,"restSecondaryLimit":10,"jitConfigRate":5,"anyAccount":false,
	                                         "runnerLostTimeout":"30s"}
	GET    /_sim/accounts                  POST /_sim/accounts {"path":"acme/app"}   DELETE /_sim/accounts/{path}
	GET    /_sim/tokens                    PUT /_sim/tokens {"value":"ghp_x","scopes":["repo"]} (or "fineGrained","permissions")
	DELETE /_sim/tokens/{token}            POST /_sim/tokens/{token}/grant {"scopes":["admin:org"],"permissions":{"administration":"write"}}
	POST   /_sim/tokens/{token}/revoke     {"scopes":["admin:org"],"permissions":["administration"]}
	GET    /_sim/installations             POST /_sim/installations {"appId":1,"id":7,"account":"acme","repositorySelection":"selected",
	                                         "repositories":["app"],"permissions":{"organization_self_hosted_runners":"write"}}
	DELETE /_sim/installations/{id}
	POST   /_sim/ratelimit                 {"token":"ghp_x" or "installation":7,"remaining":0,"resetIn":"60s"}
	GET    /_sim/runners
	POST   /_sim/runners/connect           {"encodedJITConfig":"…","version":"2.330.0"}  403 when too old
	POST   /_sim/runners/{id}/acquire      200 JobStatus, or 204 when there is no job
	POST   /_sim/runners/{id}/complete     {"result":"succeeded"}
	POST   /_sim/runners/{id}/disconnect

Simulator and ControlClient have a method for each of who may do what: DeclareAccount,
RemoveAccount, Accounts, SetToken, RemoveToken, GrantToken, RevokeToken, Tokens, Install,
Uninstall, Installations and SetRateLimit (and Settings, UpdateSettings); both have JobAttempts.

# Faults and counters

A Fault matches an endpoint name (the EP* constants, or "*") and optionally one scale set, hits
with a seeded probability or always, and for Count requests or until removed. It can delay the
answer, answer a status (with an error body in the endpoint's style and Retry-After), answer
an empty body, or answer a body given verbatim (a malformed, truncated or oversized message).
Counters count every request per endpoint name and per scale set id, the requests a fault
answered, the re-runs GitHub accepted (reruns) and the jobs failed for a lost runner
(lostRunners).

# Outages

StartOutage takes the simulator off the network: it stops listening on every address
(connections are refused) and drops every open connection, keeping all its state; EndOutage
listens again on the same addresses. GitHub's side of a real outage, for clients that must survive one.

# Time

Options.Clock (k8s.io/utils/clock) drives token expiry, AssignTimeout, ReofferAfter,
SessionIdleTimeout, RunnerLostTimeout, the rate-limit windows and every timestamp, so a fake clock's Step drives them in tests. The long-poll hold and Fault.Delay are
wall-clock time: they pace the transport.
*/
package simulator
