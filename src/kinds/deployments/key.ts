// A deployment is named by its flow and its own name: `<flow>/<name>`, as the API's
// /deployments/name/{flow}/{deployment} route and prefect.yaml name it. Neither name may hold `/`.

export function deploymentKey(flowName: string, name: string): string {
  return `${flowName}/${name}`;
}

export function parseDeploymentKey(key: string): { flowName: string; name: string } {
  const slash = key.indexOf('/');
  return { flowName: key.slice(0, slash), name: key.slice(slash + 1) };
}
