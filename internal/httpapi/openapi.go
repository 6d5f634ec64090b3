package httpapi

import (
	_ "embed"
	"slices"
)

// openAPIDocument is the OpenAPI 3.1 document of the API. Its schemas are
// generated from the root package's wire types by the package's tests
// (go test ./internal/httpapi -run TestOpenAPISchemas -update); the rest is
// written by hand and checked against the registered routes and the real
// handlers' responses.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI 3.1 document served at
// GET /v1/openapi.json.
func OpenAPIDocument() []byte { return slices.Clone(openAPIDocument) }
