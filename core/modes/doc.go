// Package modes is Outrigger's Standalone / Service / Connected state
// machine.
//
//   - Standalone: offline, no sidecar is needed.
//   - Service{serviceName, serviceUrl}: a local sidecar (xgen-workflow by
//     default) is the backend. Entering it (at launch, or from Standalone
//     or Connected) brings up every auto-start sidecar with what they
//     depend on, not only the service sidecar.
//   - Connected{serverUrl}: a remote gateway is the backend; its /health is
//     asked before anything is stopped (a gateway that does not answer
//     keeps the current mode: ErrGatewayUnreachable, unless forced), then
//     checked every 10 s and reachability reported.
//
// Transitions are serialized (one at a time, first asked first run, on the
// goroutine of Controller.Run) and atomic: a mode is current only once it
// is up, and a Service start that does not become Ready leaves the previous
// mode and stops what the attempt started. Enable* return a Transition at
// once; the UI watches its Progress and Done, or the controller's events,
// and shows Controller.Summary (green only when every sidecar that should
// run is Ready; see Overall).
//
// Rules while in Service mode (applied between transitions, from the
// supervisor's events and the sidecar's current status):
//
//   - the user stops the service sidecar → Standalone (FellBack), remembered;
//   - it crashes and the watchdog restarts it → Degraded, then Restored;
//   - it gives up (Failed) or exits for good (Exited) → Standalone
//     (FellBack), not remembered, so the next launch tries Service again.
//
// Stops made by the controller itself (Enable Standalone / Connected) are
// never mistaken for a user Stop: rules are only applied between
// transitions, and only once the Service mode is established.
//
// Wiring (main):
//
//	initial, err := modes.FromConfig(cfg)          // the remembered mode
//	c := modes.New(modes.Options{Sup: sup, Service: cfg.Service,
//		Persist: modes.Remember(paths.ConfigFile), Logger: log}, initial)
//	go c.Run(ctx)                                  // the controller's goroutine
//	go c.Apply(ctx, initial)                       // bring it up (Service: the auto-start sidecars)
//	...
//	// quit: sup.DisableRestarts(); cancel(); wait for Run to return; then sup.Shutdown(ctx).
//
// Cancelling Run before the supervisor stops everything matters: otherwise
// the quit's stops read as a user Stop of the service sidecar and the
// remembered mode would become Standalone.
package modes
