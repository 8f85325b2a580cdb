import { ConfigurableModuleBuilder } from '@nestjs/common';
export const { ConfigurableModuleClass: ConfigurableIntrospectionModule, MODULE_OPTIONS_TOKEN: INTROSPECTION_MODULE_OPTIONS, OPTIONS_TYPE: INTROSPECTION_OPTIONS_TYPE, ASYNC_OPTIONS_TYPE: INTROSPECTION_ASYNC_OPTIONS_TYPE, } = new ConfigurableModuleBuilder({ moduleName: 'TokenIntrospection' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createIntrospectionOptions')
    .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();
