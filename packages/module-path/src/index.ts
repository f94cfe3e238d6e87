export { getSubmodule } from './get-submodule';
export { Module } from './module';
export { ModulePathError } from './module-path-error';
export { type NamedModulesOptions, namedChildren, namedModules } from './named-modules';
export { type SetSubmoduleOptions, setSubmodule } from './set-submodule';
