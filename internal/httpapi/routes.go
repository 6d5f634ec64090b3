package httpapi

import "github.com/amp-protocol/amp"

// registerRoutes registers every route of the API; there are no others.
// openapi.json documents exactly these, which its tests check.
func (s *Server) registerRoutes() {
	s.handle("POST", "/v1/context", amp.ScopeContext, s.handleContext)
	s.handle("POST", "/v1/outcome", amp.ScopeOutcome, s.handleOutcome)
	s.handle("GET", "/v1/profile/{userId}", amp.ScopeProfilesRead, s.handleGetProfile)
	s.handle("PUT", "/v1/profile/{userId}", amp.ScopeProfilesWrite, s.handleUpdateProfile)
	s.handle("DELETE", "/v1/profile/{userId}", amp.ScopeProfilesWrite, s.handleDeleteProfile)

	s.handle("POST", "/v1/secret-scanning/github", "", s.handleSecretScanning)

	s.handle("GET", "/v1/openapi.json", "", s.handleOpenAPI)
	s.handle("GET", "/healthz", "", s.handleHealth)
	s.handle("GET", "/readyz", "", s.handleReady)
}
