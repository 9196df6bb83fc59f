# The server's image. No image is published yet: build and push your own (README, "Installing").
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /runnerset-apiserver ./cmd/apiserver

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /runnerset-apiserver /runnerset-apiserver
ENTRYPOINT ["/runnerset-apiserver"]
